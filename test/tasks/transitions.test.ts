import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { afterCommitAnnouncer, type Store } from '../../src/db/announce.ts';
import { ledgerGuardOf, sqlStateOf } from '../../src/db/errors.ts';
import { InsufficientCreditsError, KeyLimitExceededError, NotFoundError, RateLimitedError, TenantSuspendedError } from '../../src/errors.ts';
import type { Task } from '../../src/generated/prisma/client.ts';
import { SYSTEM_ACCOUNTS } from '../../src/ledger/accounts.ts';
import { topUp } from '../../src/ledger/credits.ts';
import { post, voidHold } from '../../src/ledger/holds.ts';
import { verifyLedger } from '../../src/ledger/verify.ts';
import * as lifecycle from '../../src/tasks/lifecycle.ts';
import { taskPayload } from '../../src/tasks/payload.ts';
import type { GenerationRequest } from '../../src/tasks/requests.ts';
import { createTenant } from '../../src/tenants/service.ts';
import { useTestStore } from '../helpers/db.ts';

// Each transition of the lifecycle, called directly on its own database (no
// gateway, no upstream): what it writes to the task, the ledger, the outbox
// and the announcement. The statements are the ones production runs
// (tasks/statements.ts); these tests pin what every part of them is for.

const ctx = useTestStore();

const CALLBACK = 'https://hooks.example.com/grok?token=t';

function request(overrides: Partial<GenerationRequest> = {}): GenerationRequest {
  return {
    model: 'TEXT_TO_IMAGE',
    prompt: 'a lighthouse',
    imageUrls: [],
    sourceTaskId: null,
    callbackUrl: CALLBACK,
    public: false,
    idempotencyKey: null,
    ...overrides,
  };
}

async function tenantWith(credits: number): Promise<string> {
  const tenant = await createTenant(ctx.db, { name: `transitions ${Math.random()}` });
  if (credits > 0) await topUp(ctx.store, { tenantId: tenant.id, amount: credits, idempotencyKey: 'seed' });
  return tenant.id;
}

async function submitted(tenantId: string, overrides: Partial<GenerationRequest> = {}, maxInFlight = 10): Promise<Task> {
  const task = await lifecycle.submit(ctx.store, { tenantId, request: request(overrides), requestHash: randomUUID(), maxInFlight });
  if (!task) throw new Error('not submitted');
  return task;
}

async function accepted(tenantId: string, overrides: Partial<GenerationRequest> = {}): Promise<Task> {
  const task = await submitted(tenantId, overrides);
  const done = await lifecycle.accept(ctx.store, task, `up-${task.id}`, new Date(Date.now() + 60_000));
  if (!done) throw new Error('not accepted');
  return done;
}

const account = (tenantId: string) =>
  ctx.db.account.findUniqueOrThrow({ where: { tenantId }, select: { available: true, held: true, inFlight: true } });

/** The webhook a transition wrote, if any. */
const deliveries = (taskId: string) => ctx.db.webhookDelivery.findMany({ where: { taskId } });

/** What the webhook says of a task must be the task as the statement wrote it. */
async function expectWebhookOf(ended: Task, type: string): Promise<void> {
  const rows = await deliveries(ended.id);
  expect(rows).toHaveLength(1);
  const row = rows[0]!;
  expect(row).toMatchObject({ url: CALLBACK, eventType: type, tenantId: ended.tenantId, status: 'PENDING' });
  const stored = await ctx.db.task.findUniqueOrThrow({ where: { id: ended.id } });
  const payload = row.payload as { type: string; timestamp: string; data: Record<string, unknown> };
  expect(payload.type).toBe(type);
  expect(payload.timestamp).toBe(stored.completedAt!.toISOString());
  expect(payload.data).toEqual(JSON.parse(JSON.stringify(taskPayload(stored))));
}

describe('submit', () => {
  it('holds the price, takes a slot; a second submission with the same key claims nothing and holds nothing', async () => {
    const tenantId = await tenantWith(20);
    const first = await submitted(tenantId, { idempotencyKey: 'same' });
    expect(first).toMatchObject({ status: 'SUBMITTING', creditsCharged: 5 });
    expect(await account(tenantId)).toEqual({ available: 15, held: 5, inFlight: 1 });
    const again = await lifecycle.submit(ctx.store, { tenantId, request: request({ idempotencyKey: 'same' }), requestHash: 'x', maxInFlight: 10 });
    expect(again).toBeNull();
    expect(await account(tenantId)).toEqual({ available: 15, held: 5, inFlight: 1 });
    expect(await ctx.db.hold.count({ where: { tenantId } })).toBe(1);
    // Without a key nothing conflicts: two tasks.
    await submitted(tenantId);
    await submitted(tenantId);
    expect(await account(tenantId)).toEqual({ available: 5, held: 15, inFlight: 3 });
  });

  it('at the in-flight limit: RATE_LIMITED naming the limit, however many credits', async () => {
    const tenantId = await tenantWith(100);
    await submitted(tenantId, {}, 1);
    const refused = lifecycle.submit(ctx.store, { tenantId, request: request(), requestHash: 'h', maxInFlight: 1 });
    await expect(refused).rejects.toBeInstanceOf(RateLimitedError);
    await expect(refused).rejects.toThrow('Too many tasks in flight: at most 1 per tenant; wait for some to finish');
  });

  it('an unknown tenant is NOT_FOUND; a suspended one TENANT_SUSPENDED; other database errors pass through untouched', async () => {
    await expect(
      lifecycle.submit(ctx.store, { tenantId: randomUUID(), request: request(), requestHash: 'h', maxInFlight: 10 }),
    ).rejects.toBeInstanceOf(NotFoundError);
    const suspended = await tenantWith(100);
    await ctx.db.tenant.update({ where: { id: suspended }, data: { status: 'SUSPENDED', suspendedReason: 'test', suspendedAt: new Date() } });
    await expect(lifecycle.submit(ctx.store, { tenantId: suspended, request: request(), requestHash: 'h', maxInFlight: 10 })).rejects.toBeInstanceOf(
      TenantSuspendedError,
    );
    expect(await account(suspended)).toEqual({ available: 100, held: 0, inFlight: 0 });
    // Text PostgreSQL cannot store (the schema refuses it first): the statement's own error, not a reason of ours.
    const tenantId = await tenantWith(100);
    const error = await lifecycle
      .submit(ctx.store, { tenantId, request: request({ prompt: 'nul \u0000 byte' }), requestHash: 'h', maxInFlight: 10 })
      .catch((e: unknown) => e);
    expect(sqlStateOf(error)).toBe('22021');
    expect(await account(tenantId)).toEqual({ available: 100, held: 0, inFlight: 0 });
  });
});

describe('accept', () => {
  it('charges the hold to revenue and mirrors upstream cost, with notes that say what they are', async () => {
    const tenantId = await tenantWith(50);
    const task = await accepted(tenantId, { model: 'TEXT_TO_VIDEO', prompt: 'waves' });
    expect(task.status).toBe('IN_PROGRESS');
    expect(await account(tenantId)).toEqual({ available: 26, held: 0, inFlight: 1 });
    const charge = await ctx.db.transfer.findUniqueOrThrow({ where: { id: task.chargeId! } });
    expect(charge).toMatchObject({ kind: 'CHARGE', amount: 24, creditAccountId: SYSTEM_ACCOUNTS.REVENUE, note: 'TEXT_TO_VIDEO task' });
    const mirror = await ctx.db.transfer.findUniqueOrThrow({ where: { id: task.upstreamChargeId! } });
    expect(mirror).toMatchObject({
      kind: 'UPSTREAM_CHARGE',
      amount: 24,
      debitAccountId: SYSTEM_ACCOUNTS.REVENUE,
      creditAccountId: SYSTEM_ACCOUNTS.UPSTREAM_SPEND,
      note: `upstream task up-${task.id}`,
    });
  });

  it('refuses a task whose hold is no longer pending, and moves nothing', async () => {
    const tenantId = await tenantWith(50);
    const task = await submitted(tenantId);
    expect(await voidHold(ctx.store, task.holdId!)).toBe(true);
    const error = await lifecycle.accept(ctx.store, task, 'up-x', new Date()).catch((e: unknown) => e);
    expect(ledgerGuardOf(error)).toBe('HOLD_NOT_PENDING');
    expect((await ctx.db.task.findUniqueOrThrow({ where: { id: task.id } })).status).toBe('SUBMITTING');
    expect(await ctx.db.transfer.count({ where: { tenantId, kind: 'CHARGE' } })).toBe(0);
  });
});

describe('reject and recover', () => {
  it('reject voids the hold and frees the slot; no webhook (the caller is answered)', async () => {
    const tenantId = await tenantWith(50);
    const task = await submitted(tenantId);
    const ended = await lifecycle.reject(ctx.store, task, 'upstream said no');
    expect(ended).toMatchObject({ status: 'FAILED', errorMessage: 'upstream said no', creditsCharged: 0, idempotencyKey: null });
    expect(await account(tenantId)).toEqual({ available: 50, held: 0, inFlight: 0 });
    expect(await deliveries(task.id)).toEqual([]);
  });

  it('reject refuses a task whose hold was already posted, and moves nothing', async () => {
    const tenantId = await tenantWith(50);
    const task = await submitted(tenantId);
    await post(ctx.store, task.holdId!);
    const error = await lifecycle.reject(ctx.store, task, 'late').catch((e: unknown) => e);
    expect(ledgerGuardOf(error)).toBe('HOLD_NOT_PENDING');
    expect((await ctx.db.task.findUniqueOrThrow({ where: { id: task.id } })).status).toBe('SUBMITTING');
  });

  it('recover fails the task, releases its hold and slot, and tells its webhook', async () => {
    const tenantId = await tenantWith(50);
    const task = await submitted(tenantId, { idempotencyKey: 'lost' });
    const ended = await lifecycle.recover(ctx.store, task);
    expect(ended).toMatchObject({
      status: 'FAILED',
      creditsCharged: 0,
      idempotencyKey: null,
      errorMessage: 'Submission interrupted before upstream confirmed it; nothing was charged. Please retry.',
    });
    expect(await account(tenantId)).toEqual({ available: 50, held: 0, inFlight: 0 });
    await expectWebhookOf(ended!, 'task.failed');
  });
});

describe('settle and expire', () => {
  it('SUCCESS keeps the charge, frees the slot, stores the result, and tells the webhook the task as written', async () => {
    const tenantId = await tenantWith(50);
    const task = await accepted(tenantId);
    const ended = await lifecycle.settle(ctx.store, task, { status: 'SUCCESS', resultUrls: ['https://cdn.example/r.png'], consumedCredits: 5 });
    expect(ended).toMatchObject({ status: 'SUCCESS', resultUrls: ['https://cdn.example/r.png'], upstreamCredits: 5, refunded: false });
    expect(ended!.completedAt).not.toBeNull();
    expect(await account(tenantId)).toEqual({ available: 45, held: 0, inFlight: 0 });
    await expectWebhookOf(ended!, 'task.succeeded');
  });

  it('FAILED refunds the tenant and reverses the mirror, once, notes bounded, slot freed, webhook told', async () => {
    const tenantId = await tenantWith(50);
    const task = await accepted(tenantId);
    const reason = 'x'.repeat(800);
    const ended = await lifecycle.settle(ctx.store, task, { status: 'FAILED', errorMessage: reason });
    expect(ended).toMatchObject({ status: 'FAILED', refunded: true, upstreamCredits: 0, errorMessage: reason });
    expect(await account(tenantId)).toEqual({ available: 50, held: 0, inFlight: 0 });
    const refund = await ctx.db.transfer.findFirstOrThrow({ where: { reversesId: task.chargeId! } });
    expect(refund).toMatchObject({ kind: 'REFUND', amount: 5 });
    expect(refund.note).toBe(`refund: ${reason}`.slice(0, 500));
    const mirrorRefund = await ctx.db.transfer.findFirstOrThrow({ where: { reversesId: task.upstreamChargeId! } });
    expect(mirrorRefund).toMatchObject({ kind: 'UPSTREAM_REFUND', amount: 5, note: 'upstream refunded a failed task' });
    await expectWebhookOf(ended!, 'task.failed');
    // Exactly once: a second settlement moves nothing.
    expect(await lifecycle.settle(ctx.store, task, { status: 'FAILED', errorMessage: 'again' })).toBeNull();
    expect(await ctx.db.transfer.count({ where: { tenantId, kind: 'REFUND' } })).toBe(1);
    expect(await verifyLedger(ctx.db)).toEqual([]);
  });

  it('a refund whose charge is missing aborts the whole statement', async () => {
    const tenantId = await tenantWith(50);
    const task = await accepted(tenantId);
    const other = await accepted(tenantId);
    // As if the charge were lost: point the task at a transfer that is no tenant's charge (another task's mirror).
    const forged = { ...task, chargeId: other.upstreamChargeId };
    await ctx.db.task.update({ where: { id: task.id }, data: { chargeId: other.upstreamChargeId } });
    const error = await lifecycle.settle(ctx.store, forged, { status: 'FAILED', errorMessage: 'no' }).catch((e: unknown) => e);
    expect(ledgerGuardOf(error)).toBe('ORIGINAL_NOT_FOUND');
    expect((await ctx.db.task.findUniqueOrThrow({ where: { id: task.id } })).status).toBe('IN_PROGRESS');
    expect(await ctx.db.transfer.count({ where: { tenantId, kind: { in: ['REFUND', 'UPSTREAM_REFUND'] } } })).toBe(0);
  });

  it('expire fails and refunds with a message naming the deadline in seconds', async () => {
    const tenantId = await tenantWith(50);
    const task = await accepted(tenantId);
    const ended = await lifecycle.expire(ctx.store, task, 90_000);
    expect(ended).toMatchObject({ status: 'FAILED', refunded: true, errorMessage: 'Timed out: no result from upstream within 90 s' });
    await expectWebhookOf(ended!, 'task.failed');
  });

  it('a task without a callback URL gets no webhook', async () => {
    const tenantId = await tenantWith(50);
    const task = await accepted(tenantId, { callbackUrl: null });
    await lifecycle.settle(ctx.store, task, { status: 'SUCCESS', resultUrls: ['https://cdn.example/r.png'], consumedCredits: 5 });
    expect(await deliveries(task.id)).toEqual([]);
  });

  it('a transition the table does not allow is a programming error, refused before any SQL', async () => {
    const tenantId = await tenantWith(50);
    const task = await accepted(tenantId);
    expect(() => lifecycle.settle(ctx.store, task, { status: 'IN_PROGRESS' } as never)).toThrow('settle cannot move a task to IN_PROGRESS');
  });
});

describe('announcements', () => {
  it('each transition hands its events to the announcer once committed (the Redis bus publishes them then)', async () => {
    const published: string[] = [];
    const redisLike: Store = { db: ctx.db, announcer: afterCommitAnnouncer((payload) => published.push(payload)) };
    const tenantId = await tenantWith(50);
    const task = await lifecycle.submit(redisLike, { tenantId, request: request(), requestHash: 'h', maxInFlight: 10 });
    expect(published).toHaveLength(1);
    const events = JSON.parse(published[0]!) as { type: string }[];
    expect(events.map((e) => e?.type)).toEqual(['task', 'balance']);
    await lifecycle.accept(redisLike, task!, 'up', new Date());
    expect(published).toHaveLength(2);
  });

  it('a task event too large for NOTIFY goes as a partial event (id, tenant, status), and the statement commits', async () => {
    const tenantId = await tenantWith(500);
    // Around the limit from both sides: each settles, whatever the size of its error message.
    for (const size of [6500, 6700, 6900, 7100, 7300, 7500, 7700]) {
      const task = await accepted(tenantId, { callbackUrl: null });
      const ended = await lifecycle.settle(ctx.store, task, { status: 'FAILED', errorMessage: 'e'.repeat(size) });
      expect(ended?.status).toBe('FAILED');
    }
  });
});

describe('a key credit limit (tasks/key-limits.ts)', () => {
  async function limitedKey(tenantId: string, credits: number, period: 'DAY' | 'MONTH' = 'DAY') {
    const limitId = randomUUID();
    await ctx.db.keyCreditLimit.create({ data: { id: limitId, tenantId, credits, period } });
    const key = await ctx.db.apiKey.create({
      data: { role: 'TENANT', tenantId, prefix: 'gk_test', hash: randomUUID(), creditLimitId: limitId },
    });
    return { keyId: key.id, limitId };
  }
  const limitOf = (id: string) => ctx.db.keyCreditLimit.findUniqueOrThrow({ where: { id }, select: { spent: true, windowStart: true } });
  const submitWith = (tenantId: string, keyId: string | null) =>
    lifecycle.submit(ctx.store, { tenantId, keyId, request: request(), requestHash: randomUUID(), maxInFlight: 10 });

  it('counts the price in the UTC window, records the limit on the task, and refuses past it with nothing held', async () => {
    // Another tenant's limit, written first: the refusal must name this key's, not any limit.
    await limitedKey(await tenantWith(0), 50);
    const tenantId = await tenantWith(100);
    const { keyId, limitId } = await limitedKey(tenantId, 12, 'MONTH');
    const first = (await submitWith(tenantId, keyId))!;
    expect(first.creditLimitId).toBe(limitId);
    const now = new Date();
    expect(await limitOf(limitId)).toEqual({ spent: 5, windowStart: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)) });
    await submitWith(tenantId, keyId);
    const refused = await submitWith(tenantId, keyId).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(KeyLimitExceededError);
    expect(refused).toMatchObject({ limit: 12, period: 'MONTH', remaining: 2 });
    expect(await limitOf(limitId)).toMatchObject({ spent: 10 });
    expect(await account(tenantId)).toEqual({ available: 90, held: 10, inFlight: 2 });
    expect(await ctx.db.task.count({ where: { tenantId } })).toBe(2);
    // No key, or a key without a limit: nothing counted.
    expect((await submitWith(tenantId, null))!.creditLimitId).toBeNull();
  });

  it('an exact fit is allowed; the DAY window starts at UTC midnight', async () => {
    const tenantId = await tenantWith(100);
    const { keyId, limitId } = await limitedKey(tenantId, 5);
    await submitWith(tenantId, keyId);
    const now = new Date();
    expect(await limitOf(limitId)).toEqual({ spent: 5, windowStart: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())) });
    await limitedKey(tenantId, 7, 'MONTH');
    const refused = await submitWith(tenantId, keyId).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(KeyLimitExceededError);
    expect(refused).toMatchObject({ limit: 5, period: 'DAY', remaining: 0 });
  });

  it('reject gives the held price back; a refund gives the charge back; an earlier window is left alone', async () => {
    const tenantId = await tenantWith(100);
    const { keyId, limitId } = await limitedKey(tenantId, 20);
    const rejected = (await submitWith(tenantId, keyId))!;
    await lifecycle.reject(ctx.store, rejected, 'upstream said no');
    expect(await limitOf(limitId)).toMatchObject({ spent: 0 });

    const failed = (await submitWith(tenantId, keyId))!;
    const running = (await lifecycle.accept(ctx.store, failed, `up-${failed.id}`, new Date()))!;
    await submitWith(tenantId, keyId);
    expect(await limitOf(limitId)).toMatchObject({ spent: 10 });
    await lifecycle.settle(ctx.store, running, { status: 'FAILED', errorMessage: 'boom' });
    expect(await limitOf(limitId)).toMatchObject({ spent: 5 });
    // Settled twice: given back once.
    await lifecycle.settle(ctx.store, running, { status: 'FAILED', errorMessage: 'boom' });
    expect(await limitOf(limitId)).toMatchObject({ spent: 5 });

    // A task counted in an earlier window gives nothing back to this one.
    const old = (await submitWith(tenantId, keyId))!;
    await ctx.db.task.update({ where: { id: old.id }, data: { createdAt: new Date(Date.now() - 3 * 86_400_000) } });
    await lifecycle.reject(ctx.store, { ...old, createdAt: new Date(Date.now() - 3 * 86_400_000) }, 'late');
    expect(await limitOf(limitId)).toMatchObject({ spent: 10 });
    expect(await verifyLedger(ctx.db)).toEqual([]);
  });
});

describe('what a statement hands back and holds', () => {
  it('the task as written, without the guard and announcement columns; its hold names the task', async () => {
    const tenantId = await tenantWith(50);
    const task = await submitted(tenantId);
    expect(Object.keys(task).filter((k) => k.startsWith('_'))).toEqual([]);
    expect(task.origin).toBe('GRAPHQL');
    const hold = await ctx.db.hold.findUniqueOrThrow({ where: { id: task.holdId! } });
    expect(hold).toMatchObject({ reference: `task:${task.id}`, amount: 5, status: 'PENDING' });
  });

  it('too few credits is INSUFFICIENT_CREDITS naming the price and what is available; an unknown tenant names itself', async () => {
    const tenantId = await tenantWith(3);
    const refused = await lifecycle
      .submit(ctx.store, { tenantId, request: request(), requestHash: 'h', maxInFlight: 10 })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(InsufficientCreditsError);
    expect(refused).toMatchObject({ required: 5, available: 3 });
    await expect(
      lifecycle.submit(ctx.store, { tenantId: randomUUID(), request: request(), requestHash: 'h', maxInFlight: 10 }),
    ).rejects.toThrow('Tenant not found');
  });

  it("a tenant's endpoint gets the task's event beside its callback, and the dispatcher is woken once", async () => {
    const published: string[] = [];
    const redisLike: Store = { db: ctx.db, announcer: afterCommitAnnouncer((payload) => published.push(payload)) };
    const tenantId = await tenantWith(50);
    await ctx.db.webhookEndpoint.create({ data: { tenantId, url: 'https://hooks.example.com/endpoint', events: ['task.succeeded'] } });
    const task = await accepted(tenantId);
    published.length = 0;
    await lifecycle.settle(redisLike, task, { status: 'SUCCESS', resultUrls: ['https://r/1.png'], consumedCredits: 4 });
    const sent = await deliveries(task.id);
    expect(sent.map((d) => d.url).sort()).toEqual(['https://hooks.example.com/endpoint', CALLBACK]);
    expect(sent[0]!.payload).toEqual(sent[1]!.payload);
    const events = (JSON.parse(published[0]!) as { type: string }[]).map((e) => e.type);
    expect(events).toEqual(['task', 'webhooks']);
    // An endpoint that does not want the event gets nothing.
    const other = await accepted(tenantId);
    await lifecycle.settle(ctx.store, other, { status: 'FAILED', errorMessage: 'no' });
    expect((await deliveries(other.id)).map((d) => d.url)).toEqual([CALLBACK]);
  });
});

describe('lateRefund (tasks/reconcile.ts)', () => {
  it('a late refund whose charge is missing aborts the whole statement: the task stays unrefunded', async () => {
    const tenantId = await tenantWith(50);
    const task = await accepted(tenantId);
    const other = await accepted(tenantId);
    const done = (await lifecycle.settle(ctx.store, task, { status: 'SUCCESS', resultUrls: ['https://r/1.png'], consumedCredits: 5 }))!;
    // As if the charge were lost: the task points at a transfer that is no tenant's charge (another task's mirror).
    await ctx.db.task.update({ where: { id: done.id }, data: { chargeId: other.upstreamChargeId } });
    const error = await lifecycle.mirrorLateRefund(ctx.store, { ...done, chargeId: other.upstreamChargeId }).catch((e: unknown) => e);
    expect(ledgerGuardOf(error)).toBe('ORIGINAL_NOT_FOUND');
    expect(await ctx.db.task.findUniqueOrThrow({ where: { id: done.id } })).toMatchObject({ status: 'SUCCESS', refunded: false });
    expect(await ctx.db.transfer.count({ where: { tenantId, kind: { in: ['REFUND', 'UPSTREAM_REFUND'] } } })).toBe(0);
  });

  it('refunds a succeeded task to the tenant and reverses the mirror, once; the slot stays free; the key limit gets its credits back', async () => {
    const tenantId = await tenantWith(50);
    const limitId = randomUUID();
    await ctx.db.keyCreditLimit.create({ data: { id: limitId, tenantId, credits: 100, period: 'DAY' } });
    const key = await ctx.db.apiKey.create({ data: { role: 'TENANT', tenantId, prefix: 'gk_late', hash: randomUUID(), creditLimitId: limitId } });
    const submittedTask = (await lifecycle.submit(ctx.store, { tenantId, keyId: key.id, request: request(), requestHash: 'h', maxInFlight: 10 }))!;
    const running = (await lifecycle.accept(ctx.store, submittedTask, `up-${submittedTask.id}`, new Date()))!;
    const done = (await lifecycle.settle(ctx.store, running, { status: 'SUCCESS', resultUrls: ['https://r/1.png'], consumedCredits: 4 }))!;
    await ctx.db.taskReconciliation.create({ data: { taskId: done.id, checks: 1, lastCheckedAt: new Date(), mismatchAt: new Date(), drift: 4 } });
    expect(await account(tenantId)).toEqual({ available: 45, held: 0, inFlight: 0 });

    const refunded = await lifecycle.mirrorLateRefund(ctx.store, done);
    expect(refunded).toMatchObject({ status: 'SUCCESS', refunded: true, upstreamCredits: 0 });
    expect(await account(tenantId)).toEqual({ available: 50, held: 0, inFlight: 0 });
    const refund = await ctx.db.transfer.findFirstOrThrow({ where: { tenantId, kind: 'REFUND' } });
    expect(refund).toMatchObject({ amount: 5, reversesId: done.chargeId, note: 'refund: upstream refunded the task after it succeeded' });
    const mirror = await ctx.db.transfer.findFirstOrThrow({ where: { kind: 'UPSTREAM_REFUND', reversesId: done.upstreamChargeId } });
    expect(mirror).toMatchObject({ note: 'upstream refunded a task after it succeeded', creditAccountId: SYSTEM_ACCOUNTS.REVENUE });
    expect(await ctx.db.keyCreditLimit.findUniqueOrThrow({ where: { id: limitId } })).toMatchObject({ spent: 0 });
    expect((await ctx.db.taskReconciliation.findUniqueOrThrow({ where: { taskId: done.id } })).correctedAt).not.toBeNull();
    // Once: a second call, and a failed task, move nothing.
    expect(await lifecycle.mirrorLateRefund(ctx.store, done)).toBeNull();
    expect(await ctx.db.transfer.count({ where: { tenantId, kind: 'REFUND' } })).toBe(1);
    expect(await verifyLedger(ctx.db)).toEqual([]);
  });
});
