import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EVENTS_CHANNEL } from '../../src/db/announce.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { generateOk, waitForEnd } from '../helpers/tasks.ts';
import { collect, wsClient } from '../helpers/ws.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '3', WS_MAX_CONNECTIONS_PER_TENANT: '3' });
});
afterAll(async () => {
  await gw?.stop();
});

type TaskEvent = { id: string; status: string; refunded: boolean; resultUrls: string[] };
type Balance = { available: number; held: number };
const TASK_UPDATED = `subscription($id: ID!) { taskUpdated(id: $id) { id status refunded resultUrls } }`;
const TASKS_UPDATED = `subscription { tasksUpdated { id status refunded resultUrls } }`;
const BALANCE = `subscription { balanceChanged { available held } }`;

describe('subscriptions over graphql-ws', () => {
  it('a task moves SUBMITTING → IN_PROGRESS → SUCCESS; taskUpdated starts from the current state and completes', async () => {
    const t = await gw.createTenant('live', 100);
    const client = wsClient(gw.graphqlUrl, t.key);
    try {
      const all = collect<TaskEvent>(client, TASKS_UPDATED);
      await new Promise((r) => setTimeout(r, 100)); // let the subscription start
      const task = await generateOk(gw, t.key, 'textToImage', { prompt: 'live' });
      const one = collect<TaskEvent>(client, TASK_UPDATED, { id: task.id });
      await one.done;
      expect(one.errors).toEqual([]);
      expect(one.items.map((e) => e.status)).toEqual(['IN_PROGRESS', 'SUCCESS']);
      expect(one.items[1]!.resultUrls).toHaveLength(1);

      const events = await all.next(3);
      expect(events.map((e) => [e.id, e.status])).toEqual([
        [task.id, 'SUBMITTING'],
        [task.id, 'IN_PROGRESS'],
        [task.id, 'SUCCESS'],
      ]);
      all.stop();
    } finally {
      await client.dispose();
    }
  });

  it('FAILED reaches the subscriber, and the refund reaches balanceChanged', async () => {
    const t = await gw.createTenant('live-fail', 100);
    const client = wsClient(gw.graphqlUrl, t.key);
    gw.simulator.configure({ failureRate: 1 });
    try {
      const balances = collect<Balance>(client, BALANCE);
      await new Promise((r) => setTimeout(r, 100));
      const task = await generateOk(gw, t.key, 'textToImage', { prompt: 'doomed' });
      const one = collect<TaskEvent>(client, TASK_UPDATED, { id: task.id });
      await one.done;
      expect(one.items.at(-1)).toMatchObject({ status: 'FAILED', refunded: true });
      // Reserve (held), charge (posted), refund (back to where it started).
      expect(await balances.next(3)).toEqual([
        { available: 95, held: 5 },
        { available: 95, held: 0 },
        { available: 100, held: 0 },
      ]);
      balances.stop();
    } finally {
      gw.simulator.configure({ failureRate: 0 });
      await client.dispose();
    }
  });

  it('subscribing after the task ended still delivers its current state', async () => {
    const t = await gw.createTenant('late', 100);
    const task = await waitForEnd(gw, t.key, (await generateOk(gw, t.key, 'textToImage', { prompt: 'late' })).id);
    const client = wsClient(gw.graphqlUrl, t.key);
    try {
      const one = collect<TaskEvent>(client, TASK_UPDATED, { id: task.id });
      await one.done;
      expect(one.items).toEqual([{ id: task.id, status: 'SUCCESS', refunded: false, resultUrls: task.resultUrls }]);
    } finally {
      await client.dispose();
    }
  });

  it("tenant B can neither subscribe to A's task nor see it in tasksUpdated", async () => {
    const a = await gw.createTenant('iso-a', 100);
    const b = await gw.createTenant('iso-b', 100);
    const clientB = wsClient(gw.graphqlUrl, b.key);
    try {
      const bAll = collect<TaskEvent>(clientB, TASKS_UPDATED);
      await new Promise((r) => setTimeout(r, 100));
      const aTask = await generateOk(gw, a.key, 'textToImage', { prompt: 'secret' });
      const stolen = collect<TaskEvent>(clientB, TASK_UPDATED, { id: aTask.id });
      await stolen.done;
      expect(stolen.items).toEqual([]);
      expect(JSON.stringify(stolen.errors)).toContain('Task not found');
      await waitForEnd(gw, a.key, aTask.id);
      await new Promise((r) => setTimeout(r, 200));
      expect(bAll.items).toEqual([]);
      bAll.stop();
    } finally {
      await clientB.dispose();
    }
  });
});

describe('connection rules', () => {
  it('missing or bad auth closes the socket with 4403', async () => {
    for (const token of [null, 'gk_not-a-key']) {
      const client = wsClient(gw.graphqlUrl, token);
      const sub = collect(client, TASKS_UPDATED);
      expect((await client.closed).code).toBe(4403);
      await sub.done;
      await client.dispose();
    }
  });

  it("a revoked key's open socket is closed at once and receives nothing more", async () => {
    const t = await gw.createTenant('revoked', 100);
    const client = wsClient(gw.graphqlUrl, t.key);
    const sub = collect<TaskEvent>(client, TASKS_UPDATED);
    await new Promise((r) => setTimeout(r, 150));
    await gw.gql(`mutation($id: ID!) { revokeApiKey(input: { id: $id }) { __typename } }`, { id: t.keyId });
    expect(await client.closed).toMatchObject({ code: 4403, reason: 'API key revoked' });
    await sub.done;
    expect(sub.items).toEqual([]);
    await client.dispose();
  });

  it('caps subscriptions per connection and connections per tenant', async () => {
    const t = await gw.createTenant('caps', 100);
    const client = wsClient(gw.graphqlUrl, t.key);
    const subs = Array.from({ length: 4 }, () => collect(client, TASKS_UPDATED));
    await subs[3]!.done;
    expect(JSON.stringify(subs[3]!.errors)).toContain('Too many subscriptions on this connection (max 3)');

    const more = [wsClient(gw.graphqlUrl, t.key), wsClient(gw.graphqlUrl, t.key), wsClient(gw.graphqlUrl, t.key)];
    const moreSubs = more.map((c) => collect(c, TASKS_UPDATED));
    const closes = await Promise.race([Promise.any(more.map((c) => c.closed)), new Promise((r) => setTimeout(() => r(null), 3000))]);
    expect(closes).toMatchObject({ code: 4429 });
    for (const s of [...subs, ...moreSubs]) s.stop();
    await Promise.all([client, ...more].map((c) => c.dispose()));
  });
});

describe('subscriptions over SSE', () => {
  it('streams taskUpdated with the same bearer header', async () => {
    const t = await gw.createTenant('sse', 100);
    const task = await waitForEnd(gw, t.key, (await generateOk(gw, t.key, 'textToImage', { prompt: 'sse' })).id);
    const res = await fetch(gw.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${t.key}` },
      body: JSON.stringify({ query: TASK_UPDATED, variables: { id: task.id } }),
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const text = await res.text(); // completes after the terminal status
    expect(text).toContain('"status":"SUCCESS"');
    expect(text).toContain('event: complete');

    const anonymous = await fetch(gw.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: TASK_UPDATED, variables: { id: task.id } }),
    });
    expect(await anonymous.text()).toContain('UNAUTHENTICATED');
  });
});

describe('WebSocket operations keep the HTTP limits and masking', () => {
  it('rejects a subscription deeper than GRAPHQL_MAX_DEPTH', async () => {
    const strict = await startTestGateway({ GRAPHQL_MAX_DEPTH: '5' });
    const t = await strict.createTenant('deep', 10);
    const client = wsClient(strict.graphqlUrl, t.key);
    try {
      const ok = collect(client, `subscription { tasksUpdated { sourceTask { id } } }`);
      const deep = collect(client, `subscription { tasksUpdated { sourceTask { sourceTask { sourceTask { sourceTask { sourceTask { id } } } } } } }`);
      await deep.done;
      expect(JSON.stringify(deep.errors)).toMatch(/depth limit of 5 exceeded/i);
      expect(ok.errors).toEqual([]);
      ok.stop();
    } finally {
      await client.dispose();
      await strict.stop();
    }
  });

  it('masks unexpected errors in production: one event fails, the subscription goes on', async () => {
    const prod = await startTestGateway({ NODE_ENV: 'production' });
    const t = await prod.createTenant('masked', 10);
    const task = await waitForEnd(prod, t.key, (await generateOk(prod, t.key, 'textToImage', { prompt: 'masked' })).id);
    const row = await prod.deps.db.task.findUniqueOrThrow({ where: { id: Buffer.from(task.id, 'base64').toString().split(':')[1]! } });
    // An event of this task, as its last statement announced it (the hub keeps what it leaves out).
    const { prompt: _p, imageUrls: _i, ...snapshot } = row;
    const announce = () =>
      prod.deps.db.$executeRaw`SELECT pg_notify(${EVENTS_CHANNEL}, ${JSON.stringify([{ type: 'task', task: snapshot }])})`;
    const client = wsClient(prod.graphqlUrl, t.key);
    try {
      const events = collect<{ id: string; sourceTask: null }>(client, `subscription { tasksUpdated { id sourceTask { id } } }`);
      await new Promise((r) => setTimeout(r, 100));
      await announce();
      expect(await events.next(1)).toEqual([{ id: task.id, sourceTask: null }]);
      // `sourceTask` is read when the event is executed: that read now fails inside Prisma.
      await prod.deps.db.$executeRawUnsafe('ALTER TABLE task RENAME TO task_gone');
      await announce();
      await vi.waitFor(() => expect(events.errors).not.toEqual([]), { timeout: 10_000 });
      const text = JSON.stringify(events.errors);
      expect(text).toContain('Unexpected error.');
      expect(text).toContain('INTERNAL_SERVER_ERROR');
      expect(text).not.toMatch(/task_gone|prisma|SELECT/i);
      // One event failed, not the subscription: the next one is delivered.
      await prod.deps.db.$executeRawUnsafe('ALTER TABLE task_gone RENAME TO task');
      await announce();
      await vi.waitFor(() => expect(events.items.length).toBe(2), { timeout: 10_000 });
      expect(events.items[1]).toEqual({ id: task.id, sourceTask: null });
      events.stop();
    } finally {
      await client.dispose();
      await prod.stop();
    }
  });
});
