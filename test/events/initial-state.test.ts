// tasksUpdated and balanceChanged start with the current state, then every
// change, without a gap (issue #12): the feed listens before the state is
// read, and what it queued meanwhile is kept unless the read shows it
// already. First on the live hub and a real bus (events NOTIFYed between
// listening and the start), then over a gateway's WebSocket and SSE.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EVENTS_CHANNEL } from '../../src/db/announce.ts';
import { createEventBus, type EventBus } from '../../src/events/bus.ts';
import type { BalanceChange, ChangeEvent, TaskChange } from '../../src/events/change-events.ts';
import { startBalance, startTenantTasks } from '../../src/events/feeds.ts';
import { LiveHub } from '../../src/events/live.ts';
import type { Task } from '../../src/generated/prisma/client.ts';
import { createLogger } from '../../src/logger.ts';
import { createTenant } from '../../src/tenants/service.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { rowId, success, type ResultUnion } from '../helpers/graphql.ts';
import { balanceOf, generateOk, waitForEnd } from '../helpers/tasks.ts';
import { sseNext } from '../helpers/transports.ts';
import { collect, wsClient } from '../helpers/ws.ts';

describe('the start of a feed, on the live hub', () => {
  let database: TestDatabase;
  let bus: EventBus;
  let hub: LiveHub;
  beforeAll(async () => {
    database = await createTestDatabase();
    bus = createEventBus({ databaseUrl: database.url, redisUrl: null, logger: createLogger('silent') });
    await bus.ready();
    hub = new LiveHub({
      bus,
      logger: createLogger('silent'),
      isRevoked: () => false,
      loadTasks: (ids) => database.prisma.task.findMany({ where: { id: { in: ids } } }),
      loadBalances: async () => [],
    });
  });
  afterAll(async () => {
    hub?.close();
    await bus?.close();
    await database?.drop();
  });

  async function storedTask(tenantId: string, over: Partial<Task> = {}): Promise<Task> {
    return database.prisma.task.create({
      data: { id: randomUUID(), tenantId, model: 'TEXT_TO_IMAGE', prompt: 'p', imageUrls: [], requestHash: 'h', callbackToken: 't', creditsCharged: 5, ...over },
    });
  }
  function taskEvent(task: Task, change: Partial<Task> = {}): ChangeEvent {
    const { prompt: _p, imageUrls: _i, ...rest } = { ...task, ...change };
    return { type: 'task', task: JSON.parse(JSON.stringify(rest)) as TaskChange['task'] };
  }
  /** NOTIFYs the events, and returns once a probe feed of the same key has every one: the feed under test has them queued too. */
  async function announce(probe: AsyncIterator<unknown>, ...events: ChangeEvent[]): Promise<void> {
    await database.prisma.$executeRaw`SELECT pg_notify(${EVENTS_CHANNEL}, ${JSON.stringify(events)})`;
    for (let i = 0; i < events.length; i++) await probe.next();
  }

  it('tasksUpdated: the tasks read first; of the events queued meanwhile, only what the read does not show', async () => {
    const tenantId = (await createTenant(database.prisma, { name: `t-${randomUUID()}` })).id;
    const older = await storedTask(tenantId, { status: 'IN_PROGRESS' });
    const newer = await storedTask(tenantId, { status: 'SUBMITTING' });
    const ended = await storedTask(tenantId, { status: 'IN_PROGRESS' });
    const feed = hub.followTenantTasks(tenantId, null);
    const probe = hub.followTenantTasks(tenantId, null);
    const later = (task: Task) => new Date(task.updatedAt.getTime() + 1000);
    await announce(
      probe,
      taskEvent(older), // the change that made the row read: dropped
      taskEvent(newer, { status: 'IN_PROGRESS', updatedAt: later(newer) }), // newer than read: kept
      taskEvent(older, { status: 'SUBMITTING' }), // stale (another process, late): dropped
      taskEvent(older, { updatedAt: later(older) }), // the same status, changed after the read: kept
      taskEvent(ended, { status: 'SUCCESS', updatedAt: later(ended) }), // not in flight when read: kept
    );
    // What the subscription read: the two tasks in flight, oldest first.
    startTenantTasks(feed, [older, newer]);
    await announce(probe, taskEvent(newer, { status: 'SUCCESS', updatedAt: new Date(newer.updatedAt.getTime() + 2000) }));
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const { value } = await feed.next();
      seen.push(`${[older.id, newer.id, ended.id].indexOf(value!.id)}:${value!.status}`);
    }
    expect(seen).toEqual(['0:IN_PROGRESS', '1:SUBMITTING', '1:IN_PROGRESS', '0:IN_PROGRESS', '2:SUCCESS', '1:SUCCESS']);
    await feed.return();
    await probe.return?.();
  });

  it('balanceChanged: the balance read first, then what was queued less repeats of the balance before it', async () => {
    const tenantId = randomUUID();
    const balance = (available: number): BalanceChange => ({ type: 'balance', tenantId, available, held: 0, low: false });
    const feed = hub.followBalance(tenantId, null);
    const probe = hub.followBalance(tenantId, null);
    await announce(probe, balance(10), balance(10), balance(7));
    startBalance(feed, balance(10));
    await announce(probe, balance(7), balance(12));
    const seen: number[] = [];
    for (let i = 0; i < 4; i++) seen.push((await feed.next()).value!.available);
    // After the start every event is delivered as it comes (a repeat too: it is a change that committed).
    expect(seen).toEqual([10, 7, 7, 12]);
    await feed.return();
    await probe.return?.();
  });
});

describe('over a gateway', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    gw?.simulator.configure({ latencyMs: '30-80' });
    await gw?.stop();
  });

  type TaskEvent = { id: string; status: string };
  type Balance = { available: number; held: number };
  const TASKS_UPDATED = 'subscription { tasksUpdated { id status } }';
  const BALANCE = 'subscription($id: ID) { balanceChanged(tenantId: $id) { available held } }';

  let topUps = 0;
  async function topUp(tenantId: string, amount: number): Promise<void> {
    const res = await gw.gql<{ topUpCredits: ResultUnion<unknown> }>(
      `mutation($id: ID!, $amount: Int!, $key: String!) { topUpCredits(input: { tenantId: $id, amount: $amount, idempotencyKey: $key }) {
         __typename ... on Error { code message } } }`,
      { id: tenantId, amount, key: `initial-state-${++topUps}` },
    );
    success(res.data!.topUpCredits);
  }

  /** A tenant with one ended task and two left in progress (the simulator holds them until completeNow). */
  async function tenantWithTasksInFlight(name: string) {
    const t = await gw.createTenant(name, 100);
    const done = await waitForEnd(gw, t.key, (await generateOk(gw, t.key, 'textToImage', { prompt: 'ended' })).id);
    gw.simulator.configure({ latencyMs: 600_000 });
    try {
      const first = await generateOk(gw, t.key, 'textToImage', { prompt: 'first' });
      const second = await generateOk(gw, t.key, 'textToImage', { prompt: 'second' });
      return { ...t, done, first, second };
    } finally {
      gw.simulator.configure({ latencyMs: '30-80' });
    }
  }

  async function complete(taskId: string): Promise<void> {
    const row = await gw.deps.db.task.findUniqueOrThrow({ where: { id: rowId(taskId) } });
    expect(gw.simulator.completeNow(row.upstreamTaskId!, 'SUCCESS')).toBe(1);
  }

  /** A subscription over SSE: each `next` event's data, in order. */
  function overSse<T>(query: string, variables: Record<string, unknown>, token: string) {
    const controller = new AbortController();
    const items: T[] = [];
    const errors: unknown[] = [];
    const reading = (async () => {
      const res = await fetch(gw.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
        signal: controller.signal,
      });
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      for await (const result of sseNext<{ data?: Record<string, T>; errors?: unknown[] }>(res)) {
        if (result.errors) errors.push(...result.errors);
        if (result.data) items.push(Object.values(result.data)[0]!);
      }
    })().catch((error: unknown) => {
      if (!controller.signal.aborted) errors.push(error);
    });
    return {
      items,
      errors,
      async next(n: number): Promise<T[]> {
        await vi.waitFor(() => expect(items.length, JSON.stringify(errors)).toBeGreaterThanOrEqual(n), { timeout: 10_000 });
        return items.slice(0, n);
      },
      async stop() {
        controller.abort();
        await reading;
      },
    };
  }

  it('tasksUpdated over WebSocket: the tasks in flight first, oldest first, then their changes', async () => {
    const t = await tenantWithTasksInFlight('initial-ws');
    const client = wsClient(gw.graphqlUrl, t.key);
    try {
      const all = collect<TaskEvent>(client, TASKS_UPDATED);
      expect(await all.next(2)).toEqual([
        { id: t.first.id, status: 'IN_PROGRESS' },
        { id: t.second.id, status: 'IN_PROGRESS' },
      ]);
      await complete(t.first.id);
      await vi.waitFor(() => expect(all.items.slice(2)).toContainEqual({ id: t.first.id, status: 'SUCCESS' }), { timeout: 10_000 });
      // The task that had ended before the subscription is not part of its start.
      expect(all.items.map((e) => e.id)).not.toContain(t.done.id);
      expect(all.errors).toEqual([]);
      all.stop();
    } finally {
      await client.dispose();
      await complete(t.second.id);
    }
  });

  it('tasksUpdated over SSE: the same start, then the changes', async () => {
    const t = await tenantWithTasksInFlight('initial-sse');
    const stream = overSse<TaskEvent>(TASKS_UPDATED, {}, t.key);
    try {
      expect(await stream.next(2)).toEqual([
        { id: t.first.id, status: 'IN_PROGRESS' },
        { id: t.second.id, status: 'IN_PROGRESS' },
      ]);
      await complete(t.second.id);
      await vi.waitFor(() => expect(stream.items.slice(2)).toContainEqual({ id: t.second.id, status: 'SUCCESS' }), { timeout: 10_000 });
      expect(stream.errors).toEqual([]);
    } finally {
      await stream.stop();
      await complete(t.first.id);
    }
  });

  it('balanceChanged over WebSocket and SSE: the balance now, then every change', async () => {
    const t = await gw.createTenant('balance-start', 40);
    const now = await balanceOf(gw, t.key);
    expect(now).toEqual({ available: 40, held: 0 });
    const client = wsClient(gw.graphqlUrl, t.key);
    const admin = wsClient(gw.graphqlUrl, ADMIN_TOKEN);
    const sse = overSse<Balance>(BALANCE, {}, t.key);
    try {
      const ws = collect<Balance>(client, BALANCE);
      // An admin names the tenant, and gets the same start.
      const watched = collect<Balance>(admin, BALANCE, { id: t.id });
      expect(await ws.next(1)).toEqual([now]);
      expect(await watched.next(1)).toEqual([now]);
      expect(await sse.next(1)).toEqual([now]);
      await topUp(t.id, 7);
      const after = { available: 47, held: 0 };
      expect(await ws.next(2)).toEqual([now, after]);
      expect(await watched.next(2)).toEqual([now, after]);
      expect(await sse.next(2)).toEqual([now, after]);
      for (const feed of [ws, watched, sse]) expect(feed.errors).toEqual([]);
      ws.stop();
      watched.stop();
    } finally {
      await sse.stop();
      await client.dispose();
      await admin.dispose();
    }
  });
});
