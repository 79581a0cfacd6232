import { describe, expect, it } from 'vitest';
import { IdempotencyConflictError, NotFoundError, ValidationError } from '../../src/errors.ts';
import { SYSTEM_ACCOUNTS } from '../../src/ledger/accounts.ts';
import { topUp } from '../../src/ledger/credits.ts';
import { listTenantEntries } from '../../src/ledger/entries.ts';
import { reserve } from '../../src/ledger/holds.ts';
import { MAX_BALANCE } from '../../src/ledger/steps.ts';
import { verifyLedger } from '../../src/ledger/verify.ts';
import { createTenant } from '../../src/tenants/service.ts';
import { useTestStore } from '../helpers/db.ts';

// Top-ups, called as the admin mutation calls them: one statement that
// claims the key, credits the tenant and writes both entries, or nothing.
const ctx = useTestStore();

async function newTenant(): Promise<string> {
  return (await createTenant(ctx.db, { name: `credits ${Math.random()}` })).id;
}

async function balance(tenantId: string) {
  return ctx.db.account.findUniqueOrThrow({ where: { tenantId }, select: { available: true, held: true } });
}

/** Everything a refused top-up must leave as it was. */
async function snapshot(tenantId: string) {
  return {
    balance: await balance(tenantId),
    transfers: await ctx.db.transfer.count({ where: { tenantId } }),
    entries: await ctx.db.entry.count(),
  };
}

describe('topUp', () => {
  it('credits the tenant from the top-up account: one transfer, two entries, the balance after', async () => {
    const tenantId = await newTenant();
    const first = await topUp(ctx.store, { tenantId, amount: 40, idempotencyKey: 'a', note: 'first' });
    const second = await topUp(ctx.store, { tenantId, amount: 2, idempotencyKey: 'b' });
    expect(first).toMatchObject({ kind: 'TOP_UP', amount: 40, balanceAfter: 40, note: 'first' });
    expect(second).toMatchObject({ kind: 'TOP_UP', amount: 2, balanceAfter: 42, note: null });
    expect(await balance(tenantId)).toEqual({ available: 42, held: 0 });

    const transfer = await ctx.db.transfer.findFirstOrThrow({
      where: { tenantId, idempotencyKey: 'a' },
      include: { entries: { select: { accountId: true, amount: true, balanceAfter: true } } },
    });
    expect(transfer).toMatchObject({ kind: 'TOP_UP', amount: 40, debitAccountId: SYSTEM_ACCOUNTS.TOP_UP, note: 'first' });
    const tenantAccount = await ctx.db.account.findUniqueOrThrow({ where: { tenantId }, select: { id: true } });
    expect(transfer.entries).toHaveLength(2);
    expect(transfer.entries).toEqual(
      expect.arrayContaining([
        { accountId: SYSTEM_ACCOUNTS.TOP_UP, amount: -40, balanceAfter: null },
        { accountId: tenantAccount.id, amount: 40, balanceAfter: 40 },
      ]),
    );
    expect(await verifyLedger(ctx.db)).toEqual([]);
  });

  it('a repeat with the same key and amount returns the first entry and moves nothing', async () => {
    const tenantId = await newTenant();
    const first = await topUp(ctx.store, { tenantId, amount: 7, idempotencyKey: 'same' });
    const before = await snapshot(tenantId);
    const again = await topUp(ctx.store, { tenantId, amount: 7, idempotencyKey: 'same', note: 'ignored' });
    expect(again).toEqual(first);
    expect(await snapshot(tenantId)).toEqual(before);
  });

  it('the same key with another amount is IDEMPOTENCY_CONFLICT; another tenant may use the key', async () => {
    const tenantId = await newTenant();
    await topUp(ctx.store, { tenantId, amount: 7, idempotencyKey: 'k' });
    const before = await snapshot(tenantId);
    await expect(topUp(ctx.store, { tenantId, amount: 8, idempotencyKey: 'k' })).rejects.toBeInstanceOf(
      IdempotencyConflictError,
    );
    expect(await snapshot(tenantId)).toEqual(before);

    const other = await newTenant();
    await expect(topUp(ctx.store, { tenantId: other, amount: 8, idempotencyKey: 'k' })).resolves.toMatchObject({
      amount: 8,
      balanceAfter: 8,
    });
  });

  it('a key another kind of transfer used is IDEMPOTENCY_CONFLICT, even with the same amount', async () => {
    const tenantId = await newTenant();
    await topUp(ctx.store, { tenantId, amount: 5, idempotencyKey: 'k' });
    await ctx.db.transfer.updateMany({ where: { tenantId, idempotencyKey: 'k' }, data: { kind: 'ADJUSTMENT' } });
    await expect(topUp(ctx.store, { tenantId, amount: 5, idempotencyKey: 'k' })).rejects.toBeInstanceOf(
      IdempotencyConflictError,
    );
  });

  it('an unknown tenant is NOT_FOUND and writes nothing', async () => {
    const transfers = await ctx.db.transfer.count();
    await expect(
      topUp(ctx.store, { tenantId: '00000000-0000-4000-8000-000000000000', amount: 5, idempotencyKey: 'k' }),
    ).rejects.toBeInstanceOf(NotFoundError);
    expect(await ctx.db.transfer.count()).toBe(transfers);
  });
});

describe('the balance limit', () => {
  it(`a balance may reach ${MAX_BALANCE} exactly and not one credit more`, async () => {
    const tenantId = await newTenant();
    await topUp(ctx.store, { tenantId, amount: MAX_BALANCE - 1, idempotencyKey: 'a' });
    const before = await snapshot(tenantId);
    const refused = topUp(ctx.store, { tenantId, amount: 2, idempotencyKey: 'b' });
    await expect(refused).rejects.toBeInstanceOf(ValidationError);
    await expect(refused).rejects.toMatchObject({ field: 'amount' });
    expect(await snapshot(tenantId)).toEqual(before);

    await expect(topUp(ctx.store, { tenantId, amount: 1, idempotencyKey: 'c' })).resolves.toMatchObject({
      balanceAfter: MAX_BALANCE,
    });
  });

  // The fuzz suite's find: available + amount computed as int4 passed
  // 2^31 - 1 and PostgreSQL raised 22003, an INTERNAL_SERVER_ERROR.
  it('a top-up whose sum with the balance passes 2^31 - 1 is VALIDATION, not an integer overflow', async () => {
    const tenantId = await newTenant();
    await topUp(ctx.store, { tenantId, amount: 1_500_000_000, idempotencyKey: 'a' });
    const before = await snapshot(tenantId);
    await expect(topUp(ctx.store, { tenantId, amount: MAX_BALANCE, idempotencyKey: 'b' })).rejects.toMatchObject({
      field: 'amount',
    });
    expect(await snapshot(tenantId)).toEqual(before);
  });

  it('credits held count toward the limit: available + held never passes it', async () => {
    const tenantId = await newTenant();
    await topUp(ctx.store, { tenantId, amount: MAX_BALANCE, idempotencyKey: 'a' });
    await reserve(ctx.store, { tenantId, amount: 1_000_000_000, reference: 'held' });
    const before = await snapshot(tenantId);
    expect(before.balance).toEqual({ available: MAX_BALANCE - 1_000_000_000, held: 1_000_000_000 });
    await expect(topUp(ctx.store, { tenantId, amount: 1, idempotencyKey: 'b' })).rejects.toBeInstanceOf(ValidationError);
    expect(await snapshot(tenantId)).toEqual(before);
    expect(await verifyLedger(ctx.db)).toEqual([]);
  });
});

describe("a tenant's statement", () => {
  it('pages newest first: a page before an entry holds only older ones', async () => {
    const tenantId = await newTenant();
    for (let i = 1; i <= 5; i++) await topUp(ctx.store, { tenantId, amount: i, idempotencyKey: `p${i}` });
    const first = await listTenantEntries(ctx.db, tenantId, { take: 2, beforeId: undefined });
    expect(first.map((e) => e.amount)).toEqual([5, 4]);
    const second = await listTenantEntries(ctx.db, tenantId, { take: 2, beforeId: first[1]!.id });
    expect(second.map((e) => e.amount)).toEqual([3, 2]);
    const last = await listTenantEntries(ctx.db, tenantId, { take: 10, beforeId: second[1]!.id });
    expect(last.map((e) => e.amount)).toEqual([1]);
    expect(last[0]!.balanceAfter).toBe(1);
  });
});
