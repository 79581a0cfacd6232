import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EVENTS_CHANNEL } from '../../src/db/announce.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { success, type ResultUnion } from '../helpers/graphql.ts';
import { balanceOf, generateOk, waitForEnd } from '../helpers/tasks.ts';
import { collect, wsClient } from '../helpers/ws.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '3', LIVE_MAX_CONNECTIONS_PER_TENANT: '3' });
});
afterAll(async () => {
  await gw?.stop();
});

type TaskEvent = { id: string; status: string; refunded: boolean; resultUrls: string[] };
type Balance = { available: number; held: number };
const TASK_UPDATED = `subscription($id: ID!) { taskUpdated(id: $id) { id status refunded resultUrls } }`;
const TASKS_UPDATED = `subscription { tasksUpdated { id status refunded resultUrls } }`;
const BALANCE = `subscription { balanceChanged { available held } }`;

/**
 * Proof that subscriptions are live: runs `produce` (an event of the
 * subscriber's own) until every feed has received something, since a
 * subscription gets no acknowledgement of its own. Returns what each run made.
 */
async function untilLive<R>(feeds: { items: unknown[] }[], produce: () => Promise<R>): Promise<R[]> {
  const made: R[] = [];
  for (let attempt = 1; ; attempt++) {
    made.push(await produce());
    try {
      await vi.waitFor(() => expect(feeds.every((f) => f.items.length > 0)).toBe(true), { timeout: 2_000 });
      return made;
    } catch (error) {
      if (attempt >= 5) throw error;
    }
  }
}

let topUps = 0;
/** Credits a tenant through the admin API (a balanceChanged event of its own). */
async function topUp(tenantId: string, amount: number): Promise<void> {
  const res = await gw.gql<{ topUpCredits: ResultUnion<unknown> }>(
    `mutation($id: ID!, $amount: Int!, $key: String!) { topUpCredits(input: { tenantId: $id, amount: $amount, idempotencyKey: $key }) {
       __typename ... on Error { code message } } }`,
    { id: tenantId, amount, key: `top-up-${++topUps}` },
  );
  success(res.data!.topUpCredits);
}

async function upstreamIdOf(taskId: string): Promise<string> {
  const id = Buffer.from(taskId, 'base64').toString().split(':')[1]!;
  return (await gw.deps.db.task.findUniqueOrThrow({ where: { id } })).upstreamTaskId!;
}

async function issueKey(tenantId: string): Promise<string> {
  const issued = await gw.gql<{ issueApiKey: ResultUnion<{ secret: string }> }>(
    `mutation($id: ID!) { issueApiKey(input: { tenantId: $id, name: "second" }) {
       __typename ... on MutationIssueApiKeySuccess { data { secret } } } }`,
    { id: tenantId },
  );
  return success(issued.data!.issueApiKey).secret;
}

describe('subscriptions over graphql-ws', () => {
  it('a task moves SUBMITTING → IN_PROGRESS → SUCCESS; taskUpdated starts from the current state and completes', async () => {
    const t = await gw.createTenant('live', 100);
    const client = wsClient(gw.graphqlUrl, t.key);
    try {
      const all = collect<TaskEvent>(client, TASKS_UPDATED);
      await untilLive([all], () => generateOk(gw, t.key, 'textToImage', { prompt: 'warm-up' }));
      // This task stays in progress until the test has its taskUpdated subscriber.
      gw.simulator.configure({ latencyMs: 600_000 });
      const task = await generateOk(gw, t.key, 'textToImage', { prompt: 'live' });
      gw.simulator.configure({ latencyMs: '30-80' });
      const one = collect<TaskEvent>(client, TASK_UPDATED, { id: task.id });
      expect((await one.next(1)).map((e) => e.status)).toEqual(['IN_PROGRESS']);
      expect(gw.simulator.completeNow(await upstreamIdOf(task.id), 'SUCCESS')).toBe(1);
      await one.done;
      expect(one.errors).toEqual([]);
      expect(one.items.map((e) => e.status)).toEqual(['IN_PROGRESS', 'SUCCESS']);
      expect(one.items[1]!.resultUrls).toHaveLength(1);

      await vi.waitFor(() => expect(all.items.filter((e) => e.id === task.id).map((e) => e.status)).toContain('SUCCESS'));
      expect(all.items.filter((e) => e.id === task.id).map((e) => e.status)).toEqual(['SUBMITTING', 'IN_PROGRESS', 'SUCCESS']);
      all.stop();
    } finally {
      gw.simulator.configure({ latencyMs: '30-80' });
      await client.dispose();
    }
  });

  it('FAILED reaches the subscriber, and the refund reaches balanceChanged', async () => {
    const t = await gw.createTenant('live-fail', 100);
    const client = wsClient(gw.graphqlUrl, t.key);
    try {
      const balances = collect<Balance>(client, BALANCE);
      // Live: the tenant's top-ups (1 credit each) reach it, up to the last one.
      await untilLive([balances], () => topUp(t.id, 1));
      const before = await balanceOf(gw, t.key);
      await vi.waitFor(() => expect(balances.items.at(-1)).toEqual(before));
      const seen = balances.items.length;
      const start = before.available;
      gw.simulator.configure({ failureRate: 1 });
      const task = await generateOk(gw, t.key, 'textToImage', { prompt: 'doomed' });
      gw.simulator.configure({ failureRate: 0 });
      const one = collect<TaskEvent>(client, TASK_UPDATED, { id: task.id });
      await one.done;
      expect(one.items.at(-1)).toMatchObject({ status: 'FAILED', refunded: true });
      // Reserve (held), charge (posted), refund (back to where it started).
      expect((await balances.next(seen + 3)).slice(seen)).toEqual([
        { available: start - 5, held: 5 },
        { available: start - 5, held: 0 },
        { available: start, held: 0 },
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

  it("tenant B's live feeds get none of A's task and balance events, and B cannot subscribe to A's task", async () => {
    const a = await gw.createTenant('iso-a', 1000);
    const b = await gw.createTenant('iso-b', 100);
    const clientA = wsClient(gw.graphqlUrl, a.key);
    const clientB = wsClient(gw.graphqlUrl, b.key);
    try {
      // A watches its own tasks: where A's events do go (and a hub that
      // routed by the wrong key would have somewhere to send them from).
      const aAll = collect<TaskEvent>(clientA, TASKS_UPDATED);
      const bAll = collect<TaskEvent>(clientB, TASKS_UPDATED);
      const bBalance = collect<Balance>(clientB, BALANCE);
      // Both of B's feeds are live: they receive B's own task and its balance changes.
      const bTasks = await untilLive([bAll, bBalance], () => generateOk(gw, b.key, 'textToImage', { prompt: 'mine' }));
      await untilLive([aAll], () => generateOk(gw, a.key, 'textToImage', { prompt: 'warm-up' }));

      // A's activity: a task from start to end, and a top-up.
      const aTask = await generateOk(gw, a.key, 'textToImage', { prompt: 'secret' });
      const stolen = collect<TaskEvent>(clientB, TASK_UPDATED, { id: aTask.id });
      await stolen.done;
      expect(stolen.items).toEqual([]);
      expect(JSON.stringify(stolen.errors)).toContain('Task not found');
      await waitForEnd(gw, a.key, aTask.id);
      await topUp(a.id, 7);
      // A's own subscriber got all of it.
      await vi.waitFor(() => expect(aAll.items.filter((e) => e.id === aTask.id).map((e) => e.status)).toEqual(['SUBMITTING', 'IN_PROGRESS', 'SUCCESS']));

      // Then B's own task, committed after all of A's: events reach feeds in
      // commit order, so once B has it, anything of A's routed to B would be there.
      const last = await waitForEnd(gw, b.key, (await generateOk(gw, b.key, 'textToImage', { prompt: 'after' })).id);
      bTasks.push(last);
      await vi.waitFor(() => expect(bAll.items.filter((e) => e.id === last.id).map((e) => e.status)).toContain('SUCCESS'));
      await vi.waitFor(async () => expect(bBalance.items.at(-1)).toEqual(await balanceOf(gw, b.key)));
      expect(bAll.items.filter((e) => !bTasks.some((t) => t.id === e.id))).toEqual([]);
      // B's balance never went above its 100 credits; A's is over 900.
      expect(bBalance.items.filter((x) => x.available + x.held > 100)).toEqual([]);
      for (const feed of [aAll, bAll, bBalance]) expect(feed.errors).toEqual([]);
      aAll.stop();
      bAll.stop();
      bBalance.stop();
    } finally {
      await clientA.dispose();
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

  it("a revoked key's open socket is closed at once and gets none of the tenant's later events; another key's socket does", async () => {
    const t = await gw.createTenant('revoked', 100);
    const other = await issueKey(t.id);
    const client = wsClient(gw.graphqlUrl, t.key);
    const control = wsClient(gw.graphqlUrl, other);
    try {
      const sub = collect<TaskEvent>(client, TASKS_UPDATED);
      const controlSub = collect<TaskEvent>(control, TASKS_UPDATED);
      // Both are live: the tenant's task reaches both.
      await untilLive([sub, controlSub], () => generateOk(gw, other, 'textToImage', { prompt: 'before' }));

      await gw.gql(`mutation($id: ID!) { revokeApiKey(input: { id: $id }) { __typename } }`, { id: t.keyId });
      // An event that would reach the revoked key's subscriber if it were still open.
      const after = await waitForEnd(gw, other, (await generateOk(gw, other, 'textToImage', { prompt: 'after' })).id);
      await vi.waitFor(() => expect(controlSub.items.filter((e) => e.id === after.id).map((e) => e.status)).toEqual(['SUBMITTING', 'IN_PROGRESS', 'SUCCESS']));
      expect(sub.items.filter((e) => e.id === after.id)).toEqual([]);
      expect(await client.closed).toMatchObject({ code: 4403, reason: 'API key revoked' });
      await sub.done;
      expect(sub.items.filter((e) => e.id === after.id)).toEqual([]);
      controlSub.stop();
    } finally {
      await client.dispose();
      await control.dispose();
    }
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
      // Live: an announced event reaches it.
      await untilLive([events], announce);
      const live = events.items.length;
      expect(events.items).toEqual(Array(live).fill({ id: task.id, sourceTask: null }));
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
      await vi.waitFor(() => expect(events.items.length).toBe(live + 1), { timeout: 10_000 });
      expect(events.items[live]).toEqual({ id: task.id, sourceTask: null });
      events.stop();
    } finally {
      await client.dispose();
      await prod.stop();
    }
  });
});
