import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPrisma, type Db } from '../../src/db/client.ts';
import {
  createWebhookDispatcher,
  type WebhookDispatcher,
  type WebhookDispatcherDeps,
} from '../../src/events/webhook-dispatcher.ts';
import { deliveryIdFromMessageId, enqueueWebhook, webhookMessageId } from '../../src/events/webhook-outbox.ts';
import { webhookSecretFor } from '../../src/events/webhook-secrets.ts';
import { verifyWebhook } from '../../src/events/webhook-signature.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { createTaskFixture, type Receiver, startReceiver, waitFor } from './webhook-helpers.ts';

let database: TestDatabase;
let db: Db;
const cleanup: (() => Promise<void>)[] = [];
const logger = createLogger('silent');

beforeAll(async () => {
  database = await createTestDatabase();
  db = database.prisma;
});
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});
afterAll(async () => {
  await database?.drop();
});

async function receiver(status: (n: number) => number, delayMs = 0): Promise<Receiver> {
  const r = await startReceiver(status, delayMs);
  cleanup.push(() => r.close());
  return r;
}

function dispatcher(r: Receiver, overrides: Partial<WebhookDispatcherDeps> = {}): WebhookDispatcher {
  const d = createWebhookDispatcher({
    db,
    logger,
    policy: { allowHosts: [r.host] },
    schedule: [50, 50, 50],
    intervalMs: 20,
    timeoutMs: 2_000,
    ...overrides,
  });
  cleanup.push(() => d.stop());
  return d;
}

/** A task reaching SUCCESS and its webhook, in one transaction, as the task service does it. */
async function finishTask(url: string, client: Db = db): Promise<{ deliveryId: string; tenantId: string; taskId: string }> {
  const { tenantId, taskId } = await createTaskFixture(client);
  const deliveryId = await client.$transaction(async (tx) => {
    const task = await tx.task.update({ where: { id: taskId }, data: { status: 'SUCCESS', resultUrls: ['https://cdn.example/a.png'] } });
    return enqueueWebhook(tx, {
      tenantId,
      taskId,
      url,
      eventType: 'task.succeeded',
      payload: { id: task.id, status: task.status, model: task.model, resultUrls: task.resultUrls, createdAt: task.createdAt },
    });
  });
  return { deliveryId, tenantId, taskId };
}

const settled = (id: string) =>
  waitFor(
    () => db.webhookDelivery.findUniqueOrThrow({ where: { id } }),
    (row) => row.status !== 'PENDING',
  );

describe('webhook dispatcher', () => {
  it('retries a receiver that fails twice, then delivers exactly once, signed each time', async () => {
    const r = await receiver((n) => (n < 2 ? 500 : 200));
    const { deliveryId, tenantId, taskId } = await finishTask(r.url);
    const d = dispatcher(r);
    d.start();
    await d.ready();

    const row = await settled(deliveryId);
    expect(row).toMatchObject({ status: 'DELIVERED', attempts: 3, lastResponseCode: 200, lastError: null, leaseUntil: null });
    expect(row.deliveredAt).toBeInstanceOf(Date);
    const attempts = await db.webhookAttempt.findMany({ where: { deliveryId }, orderBy: { id: 'asc' } });
    expect(attempts.map((a) => a.responseCode)).toEqual([500, 500, 200]);
    expect(attempts[0]?.error).toBe('reply 0');

    expect(r.requests).toHaveLength(3);
    const secret = await webhookSecretFor(db, tenantId);
    for (const req of r.requests) {
      expect(() => verifyWebhook(secret, req.headers, req.body)).not.toThrow();
      expect(req.headers['webhook-id']).toBe(webhookMessageId(deliveryId));
      expect(req.headers['content-type']).toBe('application/json');
      expect(JSON.parse(req.body)).toMatchObject({ id: taskId, status: 'SUCCESS', resultUrls: ['https://cdn.example/a.png'] });
    }
    expect(deliveryIdFromMessageId(webhookMessageId(deliveryId))).toBe(deliveryId);
    // The schedule was kept: each retry was claimed no earlier than the time
    // its failed attempt set (both from the database clock: an attempt is
    // recorded in the transaction that sets next_attempt_at = now() + 50 ms).
    for (let i = 1; i < attempts.length; i++) {
      expect(attempts[i]!.attemptedAt.getTime() - attempts[i - 1]!.attemptedAt.getTime()).toBeGreaterThanOrEqual(50);
    }
  });

  it('gives up after the schedule: FAILED after 1 + schedule.length attempts', async () => {
    const r = await receiver(() => 503);
    const { deliveryId } = await finishTask(r.url);
    const d = dispatcher(r);
    d.start();
    const row = await settled(deliveryId);
    expect(row).toMatchObject({ status: 'FAILED', attempts: 4, lastResponseCode: 503, deliveredAt: null });
    expect(row.lastError).toContain('503');
    expect(await db.webhookAttempt.count({ where: { deliveryId } })).toBe(4);
    expect(r.requests).toHaveLength(4);
  });

  it('delivers a row left PENDING by a gateway killed before delivery, from a new process', async () => {
    const r = await receiver(() => 204);
    // Process A: commits the status change and its webhook, then dies before its first tick.
    const clientA = createPrisma(database.url, { max: 2 });
    const { deliveryId } = await finishTask(r.url, clientA);
    const a = createWebhookDispatcher({ db: clientA, logger, policy: { allowHosts: [r.host] } });
    a.start();
    await a.stop();
    await clientA.$disconnect();
    expect(r.requests).toHaveLength(0);
    expect(await db.webhookDelivery.findUniqueOrThrow({ where: { id: deliveryId } })).toMatchObject({ status: 'PENDING', attempts: 0 });

    // Process B, started later, with its own connections.
    const clientB = createPrisma(database.url, { max: 2 });
    cleanup.push(() => clientB.$disconnect());
    const b = dispatcher(r, { db: clientB });
    b.start();
    expect(await settled(deliveryId)).toMatchObject({ status: 'DELIVERED', attempts: 1, lastResponseCode: 204 });
    expect(r.requests).toHaveLength(1);
  });

  it('picks up a row claimed by a process that died mid-delivery once its lease expires', async () => {
    const r = await receiver(() => 200);
    const { deliveryId } = await finishTask(r.url);
    // A dead process's claim, still running: nobody else may send the row.
    await db.$executeRaw`UPDATE webhook_delivery SET lease_until = now() + interval '1 hour' WHERE id = ${deliveryId}::uuid`;
    const d = dispatcher(r);
    await d.drain();
    expect(r.requests).toHaveLength(0);
    expect(await db.webhookDelivery.findUniqueOrThrow({ where: { id: deliveryId } })).toMatchObject({ status: 'PENDING', attempts: 0 });
    // The claim runs out: the next round sends it, once.
    await db.$executeRaw`UPDATE webhook_delivery SET lease_until = now() - interval '1 millisecond' WHERE id = ${deliveryId}::uuid`;
    await d.drain();
    expect(await db.webhookDelivery.findUniqueOrThrow({ where: { id: deliveryId } })).toMatchObject({ status: 'DELIVERED', attempts: 1 });
    expect(r.requests).toHaveLength(1);
  });

  it('two dispatchers running at once deliver each of 20 rows exactly once', async () => {
    const r = await receiver(() => 200, 10);
    const ids = await Promise.all(Array.from({ length: 20 }, async () => (await finishTask(r.url)).deliveryId));
    const clientB = createPrisma(database.url, { max: 3 });
    cleanup.push(() => clientB.$disconnect());
    const delivered = { a: 0, b: 0 };
    const counting = (key: 'a' | 'b') =>
      createLogger('info', { write: (line: string) => void (line.includes('webhook delivered') && delivered[key]++) });
    const a = dispatcher(r, { batchSize: 3, logger: counting('a') });
    const b = dispatcher(r, { batchSize: 3, db: clientB, logger: counting('b') });
    a.start();
    b.start();
    await waitFor(
      () => db.webhookDelivery.count({ where: { id: { in: ids }, status: 'DELIVERED' } }),
      (n) => n === 20,
    );
    const seen = r.requests.map((req) => req.headers['webhook-id']);
    expect(seen).toHaveLength(20);
    expect(new Set(seen).size).toBe(20);
    expect(await db.webhookAttempt.count({ where: { deliveryId: { in: ids } } })).toBe(20);
    expect(delivered.a + delivered.b).toBe(20);
    // Both really took part (each claims 3 at a time; the receiver takes 10 ms).
    expect(delivered.a).toBeGreaterThan(0);
    expect(delivered.b).toBeGreaterThan(0);
  });

  it('fails a delivery to a private address at once, without retrying', async () => {
    const r = await receiver(() => 200);
    const { deliveryId } = await finishTask('http://10.0.0.1/hook');
    const d = dispatcher(r);
    await d.drain();
    const row = await db.webhookDelivery.findUniqueOrThrow({ where: { id: deliveryId } });
    expect(row).toMatchObject({ status: 'FAILED', attempts: 1, lastResponseCode: null });
    expect(row.lastError).toMatch(/blocked by SSRF guard.*private/);
    const attempts = await db.webhookAttempt.findMany({ where: { deliveryId } });
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ responseCode: null });
  });

  it('writes nothing when the status change rolls back', async () => {
    const { tenantId, taskId } = await createTaskFixture(db);
    await expect(
      db.$transaction(async (tx) => {
        await enqueueWebhook(tx, { tenantId, taskId, url: 'https://example.com/', eventType: 'task.failed', payload: {} });
        throw new Error('status change failed');
      }),
    ).rejects.toThrow('status change failed');
    expect(await db.webhookDelivery.count({ where: { taskId } })).toBe(0);
  });

  it('stop() waits for an in-flight delivery to be sent and recorded', async () => {
    const r = await receiver(() => 200, 300);
    const { deliveryId } = await finishTask(r.url);
    const d = dispatcher(r, { intervalMs: 60_000 });
    d.start();
    await waitFor(async () => r.requests.length, (n) => n === 1);
    await d.stop();
    expect(await db.webhookDelivery.findUniqueOrThrow({ where: { id: deliveryId } })).toMatchObject({ status: 'DELIVERED' });
  });

  it('kick() sends a new webhook without waiting for the poll interval', async () => {
    const r = await receiver(() => 200);
    // After its first round, this dispatcher would look again in an hour:
    // only the kick can send the row within settled()'s 5 s.
    const d = dispatcher(r, { intervalMs: 3_600_000 });
    d.start();
    await d.ready();
    const { deliveryId } = await finishTask(r.url);
    d.kick();
    expect(await settled(deliveryId)).toMatchObject({ status: 'DELIVERED', attempts: 1 });
    expect(r.requests).toHaveLength(1);
  });
});
