import { describe, expect, it } from 'vitest';
import type { AuditActor } from '../../src/audit/log.ts';
import { afterCommitAnnouncer, type Store } from '../../src/db/announce.ts';
import { sqlStateOf } from '../../src/db/errors.ts';
import { IdempotencyConflictError, InsufficientCreditsError, NotFoundError, ValidationError } from '../../src/errors.ts';
import { isLow, setLowBalanceThreshold, SYSTEM_ACCOUNTS } from '../../src/ledger/accounts.ts';
import { adjust, topUp } from '../../src/ledger/credits.ts';
import { reserve } from '../../src/ledger/holds.ts';
import { MAX_BALANCE } from '../../src/ledger/steps.ts';
import { verifyLedger } from '../../src/ledger/verify.ts';
import { createTenant } from '../../src/tenants/service.ts';
import { useTestStore } from '../helpers/db.ts';

// Adjustments, the audit rows of credit movements, what each statement
// announces, and the low-balance threshold: called as the admin mutations
// call them (the GraphQL end of each is in test/reseller/), so the mutation
// run (vitest.mutation.config.ts) sees them pinned where they are written.
const ctx = useTestStore();

const ADMIN: AuditActor = { kind: 'ADMIN_TOKEN', keyId: null, prefix: null };

async function newTenant(credits = 0): Promise<string> {
  const id = (await createTenant(ctx.db, { name: `adjust ${Math.random()}` })).id;
  if (credits > 0) await topUp(ctx.store, { tenantId: id, amount: credits, idempotencyKey: 'seed' });
  return id;
}

const balance = (tenantId: string) =>
  ctx.db.account.findUniqueOrThrow({ where: { tenantId }, select: { available: true, held: true, lowBalanceThreshold: true } });

async function snapshot(tenantId: string) {
  return {
    balance: await balance(tenantId),
    transfers: await ctx.db.transfer.count({ where: { tenantId } }),
    audit: await ctx.db.auditEvent.count({ where: { tenantId } }),
  };
}

/** A store whose announcements are handed over after commit, as the Redis bus's are: what a statement announced, parsed. */
function recording(): { store: Store; events: () => Record<string, unknown>[] } {
  const published: string[] = [];
  return {
    store: { db: ctx.db, announcer: afterCommitAnnouncer((payload) => published.push(payload)) },
    events: () => published.flatMap((p) => JSON.parse(p) as Record<string, unknown>[]),
  };
}

describe('adjust', () => {
  it('a positive amount credits the tenant from the ADJUSTMENT account, with the reason as its note, audited with its transfer', async () => {
    const tenantId = await newTenant(10);
    const entry = await adjust(ctx.store, { tenantId, amount: 15, reason: 'goodwill', idempotencyKey: 'a1' }, ADMIN);
    expect(entry).toMatchObject({ kind: 'ADJUSTMENT', amount: 15, balanceAfter: 25, note: 'goodwill' });
    const transfer = await ctx.db.transfer.findFirstOrThrow({ where: { tenantId, idempotencyKey: 'a1' } });
    expect(transfer).toMatchObject({ kind: 'ADJUSTMENT', amount: 15, debitAccountId: SYSTEM_ACCOUNTS.ADJUSTMENT, note: 'goodwill' });
    const audit = await ctx.db.auditEvent.findFirstOrThrow({ where: { tenantId, action: 'credits.adjust' } });
    expect(audit).toMatchObject({ actorKind: 'ADMIN_TOKEN', actorKeyId: null, actorPrefix: null });
    expect(audit.details).toEqual({ amount: 15, reason: 'goodwill', idempotencyKey: 'a1', transferId: transfer.id });
    expect(await verifyLedger(ctx.db)).toEqual([]);
  });

  it('a negative amount moves credits from the tenant to the ADJUSTMENT account', async () => {
    const tenantId = await newTenant(30);
    const entry = await adjust(ctx.store, { tenantId, amount: -12, reason: 'double top-up', idempotencyKey: 'a2' }, ADMIN);
    expect(entry).toMatchObject({ kind: 'ADJUSTMENT', amount: -12, balanceAfter: 18 });
    const transfer = await ctx.db.transfer.findFirstOrThrow({ where: { tenantId, idempotencyKey: 'a2' } });
    expect(transfer).toMatchObject({ amount: 12, creditAccountId: SYSTEM_ACCOUNTS.ADJUSTMENT });
    expect((await balance(tenantId)).available).toBe(18);
    expect(await verifyLedger(ctx.db)).toEqual([]);
  });

  it('taking more than is available is INSUFFICIENT_CREDITS naming both, and held credits are never taken; nothing is written', async () => {
    const tenantId = await newTenant(30);
    await reserve(ctx.store, { tenantId, amount: 20, reference: 'in flight' });
    const before = await snapshot(tenantId);
    const refused = await adjust(ctx.store, { tenantId, amount: -11, reason: 'too much', idempotencyKey: 'a3' }, ADMIN).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(InsufficientCreditsError);
    expect(refused).toMatchObject({ required: 11, available: 10 });
    expect(await snapshot(tenantId)).toEqual(before);
    // Exactly what is available may go.
    await adjust(ctx.store, { tenantId, amount: -10, reason: 'all of it', idempotencyKey: 'a4' }, ADMIN);
    expect(await balance(tenantId)).toMatchObject({ available: 0, held: 20 });
  });

  it('zero or a fraction is VALIDATION on amount, before anything is written', async () => {
    const tenantId = await newTenant(5);
    const before = await snapshot(tenantId);
    for (const amount of [0, 1.5, -0.5]) {
      const error = await adjust(ctx.store, { tenantId, amount, reason: 'x', idempotencyKey: `v${amount}` }, ADMIN).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect(error).toMatchObject({ field: 'amount', message: 'amount: must be a non-zero whole number' });
    }
    expect(await snapshot(tenantId)).toEqual(before);
  });

  it('a repeat returns the first entry; the same key the other way, or used by a top-up, is a conflict that names the kind', async () => {
    const tenantId = await newTenant(50);
    const first = await adjust(ctx.store, { tenantId, amount: -5, reason: 'r', idempotencyKey: 'k' }, ADMIN);
    expect(await adjust(ctx.store, { tenantId, amount: -5, reason: 'again', idempotencyKey: 'k' }, ADMIN)).toEqual(first);
    const before = await snapshot(tenantId);
    const otherWay = adjust(ctx.store, { tenantId, amount: 5, reason: 'r', idempotencyKey: 'k' }, ADMIN);
    await expect(otherWay).rejects.toBeInstanceOf(IdempotencyConflictError);
    await expect(otherWay).rejects.toThrow('This idempotencyKey was already used for a different adjustment of this tenant');
    await expect(topUp(ctx.store, { tenantId, amount: 5, idempotencyKey: 'k' })).rejects.toThrow(
      'This idempotencyKey was already used for a different top-up of this tenant',
    );
    await expect(adjust(ctx.store, { tenantId, amount: -5, reason: 'r', idempotencyKey: 'seed' }, ADMIN)).rejects.toBeInstanceOf(
      IdempotencyConflictError,
    );
    expect(await snapshot(tenantId)).toEqual(before);
  });

  it('past the balance limit is VALIDATION naming it; an unknown tenant is NOT_FOUND', async () => {
    const tenantId = await newTenant(10);
    const error = await adjust(ctx.store, { tenantId, amount: MAX_BALANCE, reason: 'r', idempotencyKey: 'big' }, ADMIN).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ field: 'amount', message: `amount: the balance would exceed ${MAX_BALANCE} credits` });
    for (const amount of [1, -1]) {
      const unknown = adjust(ctx.store, { tenantId: '00000000-0000-4000-8000-0000000000ff', amount, reason: 'r', idempotencyKey: 'x' }, ADMIN);
      await expect(unknown).rejects.toBeInstanceOf(NotFoundError);
      await expect(unknown).rejects.toThrow('Tenant not found');
    }
  });
});

describe('a credit statement that fails for another reason', () => {
  it('is neither INSUFFICIENT_CREDITS nor VALIDATION: the database error goes up as it is, and nothing is written', async () => {
    const tenantId = await newTenant(30);
    const before = await snapshot(tenantId);
    // A NUL byte reaches the ledger only from a caller that skipped the GraphQL edge's checks: PostgreSQL refuses it (22021).
    for (const amount of [-5, 5]) {
      const error = await adjust(ctx.store, { tenantId, amount, reason: 'bad\u0000reason', idempotencyKey: `nul${amount}` }, ADMIN).catch((e: unknown) => e);
      expect(error).not.toBeInstanceOf(InsufficientCreditsError);
      expect(error).not.toBeInstanceOf(ValidationError);
      expect(sqlStateOf(error)).toBe('22021');
    }
    expect(await snapshot(tenantId)).toEqual(before);
  });
});

describe('what credit movements audit and announce', () => {
  it('a top-up with an actor is audited with its transfer; one without is not', async () => {
    const tenantId = await newTenant();
    await topUp(ctx.store, { tenantId, amount: 3, idempotencyKey: 'quiet' });
    expect(await ctx.db.auditEvent.count({ where: { tenantId, action: 'credits.topUp' } })).toBe(0);
    const entry = await topUp(ctx.store, { tenantId, amount: 4, idempotencyKey: 'loud' }, ADMIN);
    const audit = await ctx.db.auditEvent.findFirstOrThrow({ where: { tenantId, action: 'credits.topUp' } });
    const transfer = await ctx.db.transfer.findFirstOrThrow({ where: { tenantId, idempotencyKey: 'loud' } });
    expect(audit.details).toEqual({ amount: 4, idempotencyKey: 'loud', transferId: transfer.id });
    expect(entry.amount).toBe(4);
  });

  it('a movement announces the balance it committed, once; a replay announces nothing', async () => {
    const tenantId = await newTenant(10);
    const { store, events } = recording();
    await topUp(store, { tenantId, amount: 5, idempotencyKey: 't1' });
    expect(events()).toEqual([{ type: 'balance', tenantId, available: 15, held: 0, low: false }]);
    await topUp(store, { tenantId, amount: 5, idempotencyKey: 't1' });
    expect(events()).toHaveLength(1);
    await adjust(store, { tenantId, amount: -15, reason: 'r', idempotencyKey: 'a' }, ADMIN);
    expect(events()[1]).toEqual({ type: 'balance', tenantId, available: 0, held: 0, low: false });
  });
});

describe('the low-balance threshold', () => {
  it('isLow: below the threshold only; never without one', () => {
    expect(isLow({ available: 9, lowBalanceThreshold: 10 })).toBe(true);
    expect(isLow({ available: 10, lowBalanceThreshold: 10 })).toBe(false);
    expect(isLow({ available: 11, lowBalanceThreshold: 10 })).toBe(false);
    expect(isLow({ available: 0, lowBalanceThreshold: null })).toBe(false);
  });

  it('is set and cleared in one statement that answers the balance and announces it with low by the new threshold', async () => {
    const tenantId = await newTenant(20);
    const { store, events } = recording();
    expect(await setLowBalanceThreshold(store, { tenantId, credits: 25 })).toEqual({ available: 20, held: 0, lowBalanceThreshold: 25 });
    expect(events()).toEqual([{ type: 'balance', tenantId, available: 20, held: 0, low: true }]);
    expect((await balance(tenantId)).lowBalanceThreshold).toBe(25);
    expect(await setLowBalanceThreshold(store, { tenantId, credits: null })).toEqual({ available: 20, held: 0, lowBalanceThreshold: null });
    expect(events()[1]).toMatchObject({ low: false });
    expect(await ctx.db.auditEvent.count({ where: { tenantId, action: 'balance.setLowThreshold' } })).toBe(0);
  });

  it('with an actor it is audited in the same statement; an unknown tenant is NOT_FOUND and announces nothing', async () => {
    const tenantId = await newTenant();
    await setLowBalanceThreshold(ctx.store, { tenantId, credits: 7 }, ADMIN);
    const audit = await ctx.db.auditEvent.findFirstOrThrow({ where: { tenantId, action: 'balance.setLowThreshold' } });
    expect(audit).toMatchObject({ actorKind: 'ADMIN_TOKEN', details: { credits: 7 } });
    const { store, events } = recording();
    await expect(setLowBalanceThreshold(store, { tenantId: '00000000-0000-4000-8000-0000000000fe', credits: 1 }, ADMIN)).rejects.toThrow(
      new NotFoundError('Tenant not found'),
    );
    expect(events()).toEqual([]);
    expect(await ctx.db.auditEvent.count({ where: { action: 'balance.setLowThreshold', tenantId: null } })).toBe(0);
  });
});
