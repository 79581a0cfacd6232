// The live hub (src/events/live.ts) on the real event bus: events published
// with pg_notify on a real PostgreSQL, heard through the bus's LISTEN
// connection, routed to feeds. Routing, ordering, the window between
// subscribing and reading the task, completing events from the rows they
// leave out, resync after a lost connection, cleanup, and the bound on
// unread events.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { EVENTS_CHANNEL } from '../../src/db/announce.ts';
import type { Db } from '../../src/db/client.ts';
import { createEventBus, type EventBus } from '../../src/events/bus.ts';
import type { ChangeEvent, TaskChange } from '../../src/events/change-events.ts';
import { MAX_BUFFERED_EVENTS } from '../../src/events/feeds.ts';
import { LiveHub } from '../../src/events/live.ts';
import type { Task } from '../../src/generated/prisma/client.ts';
import { createLogger } from '../../src/logger.ts';
import { createTenant } from '../../src/tenants/service.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let database: TestDatabase;
let db: Db;
const revoked = new Set<string>();
let bus: EventBus;
let hub: LiveHub;
let loads: string[][];

beforeAll(async () => {
  database = await createTestDatabase();
  db = database.prisma;
});
afterAll(async () => {
  await database?.drop();
});
beforeEach(async () => {
  loads = [];
  bus = createEventBus({ databaseUrl: database.url, redisUrl: null, logger: createLogger('silent') });
  await bus.ready();
  hub = new LiveHub({
    bus,
    logger: createLogger('silent'),
    isRevoked: (keyId) => revoked.has(keyId),
    loadTasks: (ids) => {
      loads.push(ids);
      return db.task.findMany({ where: { id: { in: ids } } });
    },
    loadBalances: async (tenantIds) =>
      (await db.account.findMany({ where: { tenantId: { in: tenantIds } } })).map((a) => ({
        type: 'balance' as const,
        tenantId: a.tenantId!,
        available: a.available,
        held: a.held,
        low: false,
      })),
  });
});
afterEach(async () => {
  hub.close();
  await bus.close();
  revoked.clear();
});

/** A task row in the database, so the hub can read what events leave out. */
async function storedTask(tenantId: string, over: Partial<Task> = {}): Promise<Task> {
  return db.task.create({
    data: {
      id: randomUUID(),
      tenantId,
      model: 'TEXT_TO_IMAGE',
      prompt: 'a prompt only the row has',
      imageUrls: [],
      requestHash: 'h',
      callbackToken: 't',
      creditsCharged: 5,
      ...over,
    },
  });
}

/** What a statement announces for a task: the row without prompt and image URLs. */
function taskEvent(task: Task, change: Partial<Task> = {}): ChangeEvent {
  const { prompt: _p, imageUrls: _i, ...rest } = { ...task, ...change };
  return { type: 'task', task: JSON.parse(JSON.stringify(rest)) as TaskChange['task'] };
}

/** Publishes as statements do: NOTIFY on the events channel, a JSON array per announcement. */
async function announce(...events: (ChangeEvent | null)[]): Promise<void> {
  await db.$executeRaw`SELECT pg_notify(${EVENTS_CHANNEL}, ${JSON.stringify(events)})`;
}

async function tenant(): Promise<string> {
  return (await createTenant(db, { name: `t-${randomUUID()}` })).id;
}

/** Everything the iterator yields until it ends. */
async function drain<T>(iterator: AsyncIterator<T>): Promise<T[]> {
  const out: T[] = [];
  for (;;) {
    const step = await iterator.next();
    if (step.done) return out;
    out.push(step.value);
  }
}

describe('LiveHub feeds', () => {
  it('taskUpdated: the state read first, then only newer changes, and the end after a terminal status', async () => {
    const t = await storedTask(await tenant());
    const feed = hub.followTask(t.id, t.tenantId, null);
    // Published between subscribing and reading the task: kept, then filtered against what was read.
    await announce(taskEvent(t), taskEvent(t, { status: 'IN_PROGRESS' }));
    await new Promise((r) => setTimeout(r, 50));
    feed.start(t);
    await announce(taskEvent(t, { status: 'IN_PROGRESS' })); // late duplicate (another process): dropped
    await announce(taskEvent(t, { status: 'SUCCESS', resultUrls: ['https://cdn/x.png'] }));
    await announce(taskEvent(t, { status: 'FAILED' })); // after the end: never seen
    const seen = await drain(feed);
    expect(seen.map((x) => x.status)).toEqual(['SUBMITTING', 'IN_PROGRESS', 'SUCCESS']);
    expect(seen[2]!.resultUrls).toEqual(['https://cdn/x.png']);
    expect(seen[2]!.createdAt).toBeInstanceOf(Date);
    // The prompt is not in the events: it came from a read (of the early events, before the
    // subscriber's own), then from the subscriber's own read, with no further read.
    expect(seen.every((x) => x.prompt === 'a prompt only the row has')).toBe(true);
    expect(loads).toEqual([[t.id]]);
    expect(hub.size()).toBe(0);
  });

  it("routes by task and tenant: another task's or another tenant's events never reach a feed", async () => {
    const [a, b] = [await tenant(), await tenant()];
    const mine = await storedTask(a, { status: 'IN_PROGRESS' });
    const feed = hub.followTask(mine.id, a, null).start(mine);
    const tenantFeed = hub.followTenantTasks(a, null);
    const otherOfA = await storedTask(a);
    await announce(taskEvent(otherOfA, { status: 'SUCCESS' }));
    await announce(taskEvent(await storedTask(b), { status: 'SUCCESS' }));
    // The same id under another tenant (cannot happen with uuids, checked anyway).
    await announce(taskEvent(mine, { tenantId: b, status: 'FAILED' }));
    await announce(taskEvent(mine, { status: 'SUCCESS' }));
    expect((await drain(feed)).map((x) => [x.tenantId, x.status])).toEqual([
      [a, 'IN_PROGRESS'],
      [a, 'SUCCESS'],
    ]);
    const first = await tenantFeed.next();
    const second = await tenantFeed.next();
    expect([first.value?.id, second.value?.id]).toEqual([otherOfA.id, mine.id]);
    // A tenant feed's task that nobody had read is read once, in a batch, and completed from it.
    expect(first.value?.prompt).toBe('a prompt only the row has');
    expect(loads).toEqual([[otherOfA.id]]);
    await tenantFeed.return?.();
    expect(hub.size()).toBe(0);
  });

  it('keeps commit order when an event waits for a read: later ones wait behind it', async () => {
    const a = await tenant();
    const tasks = [await storedTask(a), await storedTask(a), await storedTask(a)];
    const tenantFeed = hub.followTenantTasks(a, null);
    for (const t of tasks) await announce(taskEvent(t), taskEvent(t, { status: 'IN_PROGRESS' }));
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const step = await tenantFeed.next();
      seen.push(`${step.value!.id}:${step.value!.status}`);
    }
    expect(seen).toEqual(tasks.flatMap((t) => [`${t.id}:SUBMITTING`, `${t.id}:IN_PROGRESS`]));
    await tenantFeed.return?.();
  });

  it('a partial event (too large to NOTIFY) is delivered as the row reads now', async () => {
    const a = await tenant();
    const t = await storedTask(a, { status: 'SUCCESS', resultUrls: ['https://cdn/big.png'] });
    const feed = hub.followTask(t.id, a, null).start({ ...t, status: 'IN_PROGRESS', resultUrls: [] });
    await announce({ type: 'task', partial: true, task: { id: t.id, tenantId: a, status: 'SUCCESS' } });
    expect((await drain(feed)).map((x) => [x.status, x.resultUrls])).toEqual([
      ['IN_PROGRESS', []],
      ['SUCCESS', ['https://cdn/big.png']],
    ]);
  });

  it('balance events reach every feed of the tenant, in order, and return() unregisters', async () => {
    const a = await tenant();
    const feeds = [hub.followBalance(a, null), hub.followBalance(a, null)];
    expect(hub.size()).toBe(2);
    const pending = feeds.map((f) => f.next());
    await announce({ type: 'balance', tenantId: a, available: 7, held: 3, low: false }, { type: 'balance', tenantId: randomUUID(), available: 1, held: 0, low: false });
    for (const step of await Promise.all(pending)) {
      expect(step).toEqual({ done: false, value: { type: 'balance', tenantId: a, available: 7, held: 3, low: false } });
    }
    await feeds[0]!.return?.();
    expect(hub.size()).toBe(1);
    // A pending next() ends when its feed is returned.
    const waiting = feeds[1]!.next();
    await feeds[1]!.return?.();
    expect(await waiting).toEqual({ done: true, value: undefined });
    expect(hub.size()).toBe(0);
  });

  it("a revoked key's feed ends at its next event", async () => {
    const a = await tenant();
    const keyId = randomUUID();
    const feed = hub.followTenantTasks(a, keyId);
    const other = hub.followTenantTasks(a, randomUUID());
    revoked.add(keyId);
    await announce(taskEvent(await storedTask(a)));
    expect(await feed.next()).toEqual({ done: true, value: undefined });
    expect((await other.next()).done).toBe(false);
    await other.return?.();
  });

  it(`a consumer that stops reading fails after ${MAX_BUFFERED_EVENTS} unread events, and nothing is kept`, async () => {
    const a = await tenant();
    const feed = hub.followBalance(a, null);
    const events = Array.from({ length: MAX_BUFFERED_EVENTS + 5 }, (_, i) => ({ type: 'balance' as const, tenantId: a, available: i, held: 0, low: false }));
    for (let i = 0; i < events.length; i += 50) await announce(...events.slice(i, i + 50));
    await expect.poll(() => hub.size()).toBe(0);
    await expect(feed.next()).rejects.toMatchObject({ extensions: { code: 'SLOW_CONSUMER' } });
    expect(await feed.next()).toEqual({ done: true, value: undefined });
  });

  it('a listener that throws neither stops the others nor escapes the bus; malformed events are dropped', async () => {
    const a = await tenant();
    const stop = bus.on('balance', () => {
      throw new Error('listener bug');
    });
    const feed = hub.followBalance(a, null);
    await db.$executeRaw`SELECT pg_notify(${EVENTS_CHANNEL}, 'not json')`;
    await announce(null, { type: 'balance', tenantId: a, available: 1, held: 0, low: false });
    expect((await feed.next()).value).toMatchObject({ available: 1 });
    stop();
    await feed.return?.();
  });

  it('after the listening connection is lost and restored, followed tasks and balances are read again and pushed', async () => {
    const a = await tenant();
    const t = await storedTask(a, { status: 'IN_PROGRESS' });
    const feed = hub.followTask(t.id, a, null).start(t);
    const balance = hub.followBalance(a, null);
    expect((await feed.next()).value?.status).toBe('IN_PROGRESS');
    // The listener's backend dies; meanwhile the task ends, and its event is lost.
    await db.$executeRaw`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'gateway-events' AND datname = current_database()`;
    await db.task.update({ where: { id: t.id }, data: { status: 'SUCCESS', resultUrls: ['https://cdn/missed.png'] } });
    const after = await feed.next();
    expect(after.value).toMatchObject({ status: 'SUCCESS', resultUrls: ['https://cdn/missed.png'] });
    expect((await balance.next()).value).toMatchObject({ tenantId: a, available: 0, held: 0 });
    await balance.return?.();
  });
});
