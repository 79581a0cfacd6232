import { describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.ts';
import { InsufficientCreditsError, NotFoundError } from '../../src/errors.ts';
import { topUp } from '../../src/ledger/credits.ts';
import { HoldNotPendingError, post, reserve, voidHold } from '../../src/ledger/holds.ts';
import { verifyLedger } from '../../src/ledger/verify.ts';
import { createTenant } from '../../src/tenants/service.ts';
import { useTestStore } from '../helpers/db.ts';

// The same steps the task lifecycle composes into its statements
// (ledger/steps.ts), run here on their own.
const ctx = useTestStore();

async function getBalance(client: Db, tenantId: string): Promise<{ available: number; held: number }> {
  return client.account.findUniqueOrThrow({ where: { tenantId }, select: { available: true, held: true } });
}

async function tenantWith(credits: number): Promise<string> {
  const tenant = await createTenant(ctx.db, { name: `t${Math.random()}` });
  if (credits > 0) await topUp(ctx.store, { tenantId: tenant.id, amount: credits, idempotencyKey: 'seed' });
  return tenant.id;
}

describe('two-phase holds', () => {
  it('reserve moves available to held; post charges; void releases', async () => {
    const tenantId = await tenantWith(100);
    const h1 = await reserve(ctx.store, { tenantId, amount: 30, reference: 'r1' });
    const h2 = await reserve(ctx.store, { tenantId, amount: 20, reference: 'r2' });
    expect(await getBalance(ctx.db, tenantId)).toEqual({ available: 50, held: 50 });

    const charge = await post(ctx.store, h1.id);
    expect(charge).toMatchObject({ kind: 'CHARGE', amount: 30 });
    expect(await voidHold(ctx.store, h2.id)).toBe(true);
    expect(await getBalance(ctx.db, tenantId)).toEqual({ available: 70, held: 0 });

    // Each hold resolves exactly once.
    await expect(post(ctx.store, h1.id)).rejects.toBeInstanceOf(HoldNotPendingError);
    await expect(post(ctx.store, h2.id)).rejects.toBeInstanceOf(HoldNotPendingError);
    expect(await voidHold(ctx.store, h1.id)).toBe(false);
    expect(await voidHold(ctx.store, h2.id)).toBe(false);
    expect(await verifyLedger(ctx.db)).toEqual([]);
  });

  it('fails at once with InsufficientCreditsError and writes nothing', async () => {
    const tenantId = await tenantWith(10);
    const before = await ctx.db.hold.count();
    await expect(reserve(ctx.store, { tenantId, amount: 11, reference: 'too-much' })).rejects.toBeInstanceOf(
      InsufficientCreditsError,
    );
    expect(await ctx.db.hold.count()).toBe(before);
    expect(await getBalance(ctx.db, tenantId)).toEqual({ available: 10, held: 0 });
  });

  it('200 concurrent reservations of 1 credit against 37 succeed exactly 37 times', async () => {
    const tenantId = await tenantWith(37);
    const results = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) => reserve(ctx.store, { tenantId, amount: 1, reference: `race-${i}` })),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(ok).toHaveLength(37);
    for (const r of rejected) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(InsufficientCreditsError);
    expect(await getBalance(ctx.db, tenantId)).toEqual({ available: 0, held: 37 });

    // Post half, void the rest, concurrently and twice each: still exactly once.
    const holds = ok.map((r) => (r as PromiseFulfilledResult<{ id: string }>).value.id);
    await Promise.allSettled(
      holds.flatMap((id, i): Promise<unknown>[] =>
        i % 2 === 0 ? [post(ctx.store, id), post(ctx.store, id)] : [voidHold(ctx.store, id), voidHold(ctx.store, id)],
      ),
    );
    expect(await getBalance(ctx.db, tenantId)).toEqual({ available: 18, held: 0 });
    expect(await ctx.db.transfer.count({ where: { tenantId, kind: 'CHARGE' } })).toBe(19);
    expect(await verifyLedger(ctx.db)).toEqual([]);
  });
});

describe('what the hold operations say', () => {
  it('a hold resolved twice names itself; a reservation for an unknown tenant is NOT_FOUND; a posting keeps its note', async () => {
    const tenantId = await tenantWith(10);
    const hold = await reserve(ctx.store, { tenantId, amount: 2, reference: 'r' });
    await post(ctx.store, hold.id, { note: 'for the record' });
    expect(await ctx.db.transfer.findFirstOrThrow({ where: { holdId: hold.id } })).toMatchObject({ kind: 'CHARGE', note: 'for the record' });
    const twice = await post(ctx.store, hold.id).catch((e: unknown) => e as Error);
    expect(twice).toBeInstanceOf(HoldNotPendingError);
    expect(twice).toMatchObject({ name: 'HoldNotPendingError', message: `Hold ${hold.id} is not pending` });
    const unknown = await reserve(ctx.store, { tenantId: '00000000-0000-4000-8000-00000000abcd', amount: 1, reference: 'x' }).catch((e: unknown) => e as Error);
    expect(unknown).toBeInstanceOf(NotFoundError);
    expect(unknown).toMatchObject({ message: 'Tenant not found' });
  });
});

describe('ledger:verify', () => {
  it('detects a balance that disagrees with its entries', async () => {
    const tenantId = await tenantWith(5);
    await ctx.db.$executeRaw`UPDATE account SET available = available + 1 WHERE tenant_id = ${tenantId}::uuid`;
    const violations = await verifyLedger(ctx.db);
    expect(violations.map((v) => v.invariant)).toContain("each tenant account's balance equals the sum of its entries");
    await ctx.db.$executeRaw`UPDATE account SET available = available - 1 WHERE tenant_id = ${tenantId}::uuid`;
    expect(await verifyLedger(ctx.db)).toEqual([]);
  });

  it('the database refuses a negative available balance (CHECK constraint)', async () => {
    const tenantId = await tenantWith(5);
    await expect(
      ctx.db.$executeRaw`UPDATE account SET available = -1 WHERE tenant_id = ${tenantId}::uuid`,
    ).rejects.toThrow();
  });
});
