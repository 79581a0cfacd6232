import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifyAnnouncer, type Store } from '../../src/db/announce.ts';
import type { Db } from '../../src/db/client.ts';
import { InsufficientCreditsError, NotFoundError } from '../../src/errors.ts';
import { topUp } from '../../src/ledger/credits.ts';
import { HoldNotPendingError, post, reserve, voidHold } from '../../src/ledger/holds.ts';
import { verifyLedger } from '../../src/ledger/verify.ts';
import { createTenant } from '../../src/tenants/service.ts';
import { createTestDatabase } from '../helpers/db.ts';

// The same steps the task lifecycle composes into its statements
// (ledger/steps.ts), run here on their own.
let db: Db;
let store: Store;
let drop: () => Promise<void>;
beforeAll(async () => {
  const database = await createTestDatabase();
  db = database.prisma;
  store = { db, announcer: notifyAnnouncer };
  drop = database.drop;
});
afterAll(async () => {
  await drop?.();
});

async function getBalance(client: Db, tenantId: string): Promise<{ available: number; held: number }> {
  return client.account.findUniqueOrThrow({ where: { tenantId }, select: { available: true, held: true } });
}

async function tenantWith(credits: number): Promise<string> {
  const tenant = await createTenant(db, { name: `t${Math.random()}` });
  if (credits > 0) await topUp(store, { tenantId: tenant.id, amount: credits, idempotencyKey: 'seed' });
  return tenant.id;
}

describe('two-phase holds', () => {
  it('reserve moves available to held; post charges; void releases', async () => {
    const tenantId = await tenantWith(100);
    const h1 = await reserve(store, { tenantId, amount: 30, reference: 'r1' });
    const h2 = await reserve(store, { tenantId, amount: 20, reference: 'r2' });
    expect(await getBalance(db, tenantId)).toEqual({ available: 50, held: 50 });

    const charge = await post(store, h1.id);
    expect(charge).toMatchObject({ kind: 'CHARGE', amount: 30 });
    expect(await voidHold(store, h2.id)).toBe(true);
    expect(await getBalance(db, tenantId)).toEqual({ available: 70, held: 0 });

    // Each hold resolves exactly once.
    await expect(post(store, h1.id)).rejects.toBeInstanceOf(HoldNotPendingError);
    await expect(post(store, h2.id)).rejects.toBeInstanceOf(HoldNotPendingError);
    expect(await voidHold(store, h1.id)).toBe(false);
    expect(await voidHold(store, h2.id)).toBe(false);
    expect(await verifyLedger(db)).toEqual([]);
  });

  it('fails at once with InsufficientCreditsError and writes nothing', async () => {
    const tenantId = await tenantWith(10);
    const before = await db.hold.count();
    await expect(reserve(store, { tenantId, amount: 11, reference: 'too-much' })).rejects.toBeInstanceOf(
      InsufficientCreditsError,
    );
    expect(await db.hold.count()).toBe(before);
    expect(await getBalance(db, tenantId)).toEqual({ available: 10, held: 0 });
  });

  it('200 concurrent reservations of 1 credit against 37 succeed exactly 37 times', async () => {
    const tenantId = await tenantWith(37);
    const results = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) => reserve(store, { tenantId, amount: 1, reference: `race-${i}` })),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(ok).toHaveLength(37);
    for (const r of rejected) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(InsufficientCreditsError);
    expect(await getBalance(db, tenantId)).toEqual({ available: 0, held: 37 });

    // Post half, void the rest, concurrently and twice each: still exactly once.
    const holds = ok.map((r) => (r as PromiseFulfilledResult<{ id: string }>).value.id);
    await Promise.allSettled(
      holds.flatMap((id, i): Promise<unknown>[] =>
        i % 2 === 0 ? [post(store, id), post(store, id)] : [voidHold(store, id), voidHold(store, id)],
      ),
    );
    expect(await getBalance(db, tenantId)).toEqual({ available: 18, held: 0 });
    expect(await db.transfer.count({ where: { tenantId, kind: 'CHARGE' } })).toBe(19);
    expect(await verifyLedger(db)).toEqual([]);
  });
});

describe('what the hold operations say', () => {
  it('a hold resolved twice names itself; a reservation for an unknown tenant is NOT_FOUND; a posting keeps its note', async () => {
    const tenantId = await tenantWith(10);
    const hold = await reserve(store, { tenantId, amount: 2, reference: 'r' });
    await post(store, hold.id, { note: 'for the record' });
    expect(await db.transfer.findFirstOrThrow({ where: { holdId: hold.id } })).toMatchObject({ kind: 'CHARGE', note: 'for the record' });
    const twice = await post(store, hold.id).catch((e: unknown) => e as Error);
    expect(twice).toBeInstanceOf(HoldNotPendingError);
    expect(twice).toMatchObject({ name: 'HoldNotPendingError', message: `Hold ${hold.id} is not pending` });
    const unknown = await reserve(store, { tenantId: '00000000-0000-4000-8000-00000000abcd', amount: 1, reference: 'x' }).catch((e: unknown) => e as Error);
    expect(unknown).toBeInstanceOf(NotFoundError);
    expect(unknown).toMatchObject({ message: 'Tenant not found' });
  });
});

describe('ledger:verify', () => {
  it('detects a balance that disagrees with its entries', async () => {
    const tenantId = await tenantWith(5);
    await db.$executeRaw`UPDATE account SET available = available + 1 WHERE tenant_id = ${tenantId}::uuid`;
    const violations = await verifyLedger(db);
    expect(violations.map((v) => v.invariant)).toContain("each tenant account's balance equals the sum of its entries");
    await db.$executeRaw`UPDATE account SET available = available - 1 WHERE tenant_id = ${tenantId}::uuid`;
    expect(await verifyLedger(db)).toEqual([]);
  });

  it('the database refuses a negative available balance (CHECK constraint)', async () => {
    const tenantId = await tenantWith(5);
    await expect(
      db.$executeRaw`UPDATE account SET available = -1 WHERE tenant_id = ${tenantId}::uuid`,
    ).rejects.toThrow();
  });
});
