// The feeds subscriptions read from (src/events/live.ts), on the real
// in-process event bus: routing, ordering, the window between subscribing
// and reading the task, completion, cleanup and the bound on unread events.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createEventBus, type EventBus } from '../../src/events/bus.ts';
import { LiveHub, MAX_BUFFERED_EVENTS } from '../../src/events/live.ts';
import type { Task } from '../../src/generated/prisma/client.ts';
import { createLogger } from '../../src/logger.ts';

const revoked = new Set<string>();
let bus: EventBus;
let hub: LiveHub;

function setup(): void {
  bus = createEventBus({ redisUrl: null, logger: createLogger('silent') });
  hub = new LiveHub(bus, (keyId) => revoked.has(keyId));
}

afterEach(async () => {
  hub?.close();
  await bus?.close();
  revoked.clear();
});

function task(over: Partial<Task> & Pick<Task, 'id' | 'tenantId' | 'status'>): Task {
  const now = new Date('2026-11-25T12:00:00.000Z');
  return {
    model: 'TEXT_TO_IMAGE',
    prompt: 'p',
    imageUrls: [],
    sourceTaskId: null,
    callbackUrl: null,
    public: false,
    idempotencyKey: null,
    requestHash: 'h',
    callbackToken: 't',
    upstreamTaskId: null,
    holdId: null,
    chargeId: null,
    upstreamChargeId: null,
    creditsCharged: 5,
    upstreamCredits: null,
    refunded: false,
    resultUrls: [],
    errorMessage: null,
    createdAt: now,
    updatedAt: now,
    submittedAt: null,
    completedAt: null,
    nextPollAt: null,
    pollAttempts: 0,
    leaseUntil: null,
    ...over,
  };
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
    setup();
    const ids = { id: randomUUID(), tenantId: randomUUID() };
    const feed = hub.followTask(ids.id, ids.tenantId, null);
    // Published between subscribing and reading the task: kept, then filtered against what was read.
    bus.taskChanged(task({ ...ids, status: 'SUBMITTING' }));
    bus.taskChanged(task({ ...ids, status: 'IN_PROGRESS' }));
    feed.start(task({ ...ids, status: 'SUBMITTING' }));
    bus.taskChanged(task({ ...ids, status: 'IN_PROGRESS' })); // late duplicate (another process): dropped
    bus.taskChanged(task({ ...ids, status: 'SUCCESS', resultUrls: ['https://cdn/x.png'] }));
    bus.taskChanged(task({ ...ids, status: 'FAILED' })); // after the end: never seen
    const seen = await drain(feed);
    expect(seen.map((t) => t.status)).toEqual(['SUBMITTING', 'IN_PROGRESS', 'SUCCESS']);
    expect(seen[2]!.resultUrls).toEqual(['https://cdn/x.png']);
    expect(seen[2]!.createdAt).toBeInstanceOf(Date);
    expect(hub.size()).toBe(0);
  });

  it("routes by task and tenant: another task's or another tenant's events never reach a feed", async () => {
    setup();
    const tenantA = randomUUID();
    const tenantB = randomUUID();
    const mine = randomUUID();
    const feed = hub.followTask(mine, tenantA, null).start(task({ id: mine, tenantId: tenantA, status: 'IN_PROGRESS' }));
    const tenantFeed = hub.followTenantTasks(tenantA, null);
    bus.taskChanged(task({ id: randomUUID(), tenantId: tenantA, status: 'SUCCESS' }));
    bus.taskChanged(task({ id: randomUUID(), tenantId: tenantB, status: 'SUCCESS' }));
    // The same id under another tenant (cannot happen with uuids, checked anyway).
    bus.taskChanged(task({ id: mine, tenantId: tenantB, status: 'FAILED' }));
    bus.taskChanged(task({ id: mine, tenantId: tenantA, status: 'SUCCESS' }));
    expect((await drain(feed)).map((t) => [t.tenantId, t.status])).toEqual([
      [tenantA, 'IN_PROGRESS'],
      [tenantA, 'SUCCESS'],
    ]);
    const first = await tenantFeed.next();
    const second = await tenantFeed.next();
    expect([first.value?.tenantId, second.value?.tenantId]).toEqual([tenantA, tenantA]);
    expect(second.value?.id).toBe(mine);
    await tenantFeed.return?.();
    expect(hub.size()).toBe(0);
  });

  it('balance ticks reach every feed of the tenant, in order, and return() unregisters', async () => {
    setup();
    const tenant = randomUUID();
    const feeds = [hub.followBalance(tenant, null), hub.followBalance(tenant, null)];
    expect(hub.size()).toBe(2);
    const pending = feeds.map((f) => f.next());
    bus.balanceChanged(tenant);
    bus.balanceChanged(randomUUID());
    for (const step of await Promise.all(pending)) expect(step).toEqual({ done: false, value: { tenantId: tenant } });
    await feeds[0]!.return?.();
    expect(hub.size()).toBe(1);
    // A pending next() ends when its feed is returned.
    const waiting = feeds[1]!.next();
    await feeds[1]!.return?.();
    expect(await waiting).toEqual({ done: true, value: undefined });
    expect(hub.size()).toBe(0);
  });

  it("a revoked key's feed ends at its next event", async () => {
    setup();
    const tenant = randomUUID();
    const keyId = randomUUID();
    const feed = hub.followTenantTasks(tenant, keyId);
    const other = hub.followTenantTasks(tenant, randomUUID());
    revoked.add(keyId);
    bus.taskChanged(task({ id: randomUUID(), tenantId: tenant, status: 'SUBMITTING' }));
    expect(await feed.next()).toEqual({ done: true, value: undefined });
    expect((await other.next()).done).toBe(false);
    await other.return?.();
  });

  it(`a consumer that stops reading fails after ${MAX_BUFFERED_EVENTS} unread events, and nothing is kept`, async () => {
    setup();
    const tenant = randomUUID();
    const feed = hub.followBalance(tenant, null);
    for (let i = 0; i < MAX_BUFFERED_EVENTS + 5; i++) bus.balanceChanged(tenant);
    expect(hub.size()).toBe(0);
    await expect(feed.next()).rejects.toMatchObject({ extensions: { code: 'SLOW_CONSUMER' } });
    expect(await feed.next()).toEqual({ done: true, value: undefined });
  });

  it('a listener that throws neither stops the others nor escapes the bus', async () => {
    setup();
    const tenant = randomUUID();
    const stop = bus.on('balanceChanged', () => {
      throw new Error('listener bug');
    });
    const feed = hub.followBalance(tenant, null);
    bus.balanceChanged(tenant);
    expect((await feed.next()).done).toBe(false);
    stop();
    await feed.return?.();
  });
});
