// ledger:verify, one invariant at a time. Each test builds a sound ledger with
// the real code (top-ups, holds reserved, posted, voided and left pending, and
// tasks through the lifecycle: charged, mirrored upstream, refunded and
// reversed), checks that verifyLedger finds nothing, then plants exactly one
// violation with raw SQL and checks that verifyLedger reports that invariant
// and no other. So a check switched off in src/ledger/verify.ts fails its
// test. Each test has a database of its own (a clone of the template): some
// plants drop a constraint that the database would otherwise enforce.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { notifyAnnouncer, type Store } from '../../src/db/announce.ts';
import type { Db } from '../../src/db/client.ts';
import { SYSTEM_ACCOUNTS } from '../../src/ledger/accounts.ts';
import { topUp } from '../../src/ledger/credits.ts';
import { post, reserve, voidHold } from '../../src/ledger/holds.ts';
import { LEDGER_INVARIANTS, verifyLedger } from '../../src/ledger/verify.ts';
import * as lifecycle from '../../src/tasks/lifecycle.ts';
import { requestHash, type GenerationRequest } from '../../src/tasks/requests.ts';
import { createTenant } from '../../src/tenants/service.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

const INVARIANTS = {
  entriesSumToZero: 'all entries sum to zero',
  twoEntriesPerTransfer: 'each transfer has exactly two entries of opposite amount',
  balanceEqualsEntries: "each tenant account's balance equals the sum of its entries",
  noNegativeBalance: 'no tenant account has a negative available or held balance',
  heldEqualsPendingHolds: "each tenant account's held balance equals its pending holds",
  postedHoldHasOneTransfer: 'a posted hold has exactly one transfer of its amount; a pending or voided hold has none',
  reversalMirrors: 'a reversal mirrors the transfer it reverses',
  balanceAfterIsRunningSum: "each tenant entry's balanceAfter is the running sum of its account",
} as const;

interface SoundLedger {
  db: Db;
  tenantId: string;
  accountId: string;
  topUpId: string;
  pendingHoldId: string;
  voidedHoldId: string;
  postedHoldId: string;
  /** The CHARGE of a task that failed, and its REFUND (a reversal). */
  refundedChargeId: string;
  refundId: string;
  /** The UPSTREAM_CHARGE (revenue → upstream spend) of a task that succeeded. */
  upstreamChargeId: string;
}

let database: TestDatabase | undefined;
afterEach(async () => {
  await database?.drop();
  database = undefined;
});

function request(prompt: string): GenerationRequest {
  return { model: 'TEXT_TO_IMAGE', prompt, imageUrls: [], sourceTaskId: null, callbackUrl: null, public: false, idempotencyKey: null };
}

/** A ledger with every kind of transfer and hold in it, written by the real code, on a database of its own. */
async function soundLedger(): Promise<SoundLedger> {
  database = await createTestDatabase();
  const db = database.prisma;
  const store: Store = { db, announcer: notifyAnnouncer };
  const tenantId = (await createTenant(db, { name: 'verified' })).id;
  await topUp(store, { tenantId, amount: 100, idempotencyKey: 'seed' });
  await topUp(store, { tenantId, amount: 20, idempotencyKey: 'more' });

  const posted = await reserve(store, { tenantId, amount: 7, reference: 'posted' });
  await post(store, posted.id);
  const voided = await reserve(store, { tenantId, amount: 4, reference: 'voided' });
  expect(await voidHold(store, voided.id)).toBe(true);
  const pending = await reserve(store, { tenantId, amount: 9, reference: 'pending' });

  const runTask = async (prompt: string, outcome: lifecycle.Outcome) => {
    const submitted = (await lifecycle.submit(store, { tenantId, request: request(prompt), requestHash: requestHash(request(prompt)), maxInFlight: 10 }))!;
    const accepted = (await lifecycle.accept(store, submitted, `up-${randomUUID()}`, new Date(Date.now() + 60_000)))!;
    return (await lifecycle.settle(store, accepted, outcome))!;
  };
  const failed = await runTask('fails', { status: 'FAILED', errorMessage: 'upstream failed' });
  const succeeded = await runTask('succeeds', { status: 'SUCCESS', resultUrls: ['https://cdn.example/x.png'], consumedCredits: 4 });

  const account = await db.account.findUniqueOrThrow({ where: { tenantId } });
  const topUpTransfer = await db.transfer.findFirstOrThrow({ where: { tenantId, idempotencyKey: 'seed' } });
  const refund = await db.transfer.findFirstOrThrow({ where: { reversesId: failed.chargeId! } });
  expect(refund.kind).toBe('REFUND');
  const ledger: SoundLedger = {
    db,
    tenantId,
    accountId: account.id,
    topUpId: topUpTransfer.id,
    pendingHoldId: pending.id,
    voidedHoldId: voided.id,
    postedHoldId: posted.id,
    refundedChargeId: failed.chargeId!,
    refundId: refund.id,
    upstreamChargeId: succeeded.upstreamChargeId!,
  };
  // What the ledger holds: every kind of transfer, every state of hold, a
  // reversal of a tenant charge and of a system transfer.
  const kinds = await db.transfer.groupBy({ by: ['kind'], _count: true });
  expect(Object.fromEntries(kinds.map((k) => [k.kind, k._count]))).toEqual({
    TOP_UP: 2, CHARGE: 3, REFUND: 1, UPSTREAM_CHARGE: 2, UPSTREAM_REFUND: 1,
  });
  expect(await db.hold.count({ where: { status: 'PENDING' } })).toBe(1);
  expect(await db.hold.count({ where: { status: 'VOIDED' } })).toBe(1);
  expect(await db.hold.count({ where: { status: 'POSTED' } })).toBe(3);
  expect(account).toMatchObject({ available: 120 - 7 - 9 - 5, held: 9 });
  expect(await verifyLedger(db)).toEqual([]);
  return ledger;
}

/** verifyLedger's answer, as the invariants it names (each once). */
async function broken(db: Db): Promise<string[]> {
  return [...new Set((await verifyLedger(db)).map((v) => v.invariant))];
}

describe('ledger:verify reports each invariant, and only it, when just that one is broken', () => {
  it('has a test below for every check in src/ledger/verify.ts', () => {
    expect([...LEDGER_INVARIANTS].sort()).toEqual(Object.values(INVARIANTS).sort());
  });

  it(INVARIANTS.entriesSumToZero, async () => {
    const { db } = await soundLedger();
    // An entry with no transfer (the foreign key dropped to let it in): money out of nowhere.
    await db.$executeRawUnsafe('ALTER TABLE entry DROP CONSTRAINT entry_transfer_id_fkey');
    await db.$executeRaw`INSERT INTO entry (transfer_id, account_id, amount) VALUES (${randomUUID()}::uuid, ${SYSTEM_ACCOUNTS.REVENUE}::uuid, 3)`;
    expect(await broken(db)).toEqual([INVARIANTS.entriesSumToZero]);
  });

  it(INVARIANTS.twoEntriesPerTransfer, async () => {
    const { db, upstreamChargeId } = await soundLedger();
    // A transfer between system accounts that lost both its entries: everything still sums to zero.
    const deleted = await db.$executeRaw`DELETE FROM entry WHERE transfer_id = ${upstreamChargeId}::uuid`;
    expect(deleted).toBe(2);
    expect(await broken(db)).toEqual([INVARIANTS.twoEntriesPerTransfer]);
  });

  it(`${INVARIANTS.twoEntriesPerTransfer} (entries of another amount than the transfer's)`, async () => {
    const { db, upstreamChargeId } = await soundLedger();
    // Two entries, opposite and summing to zero, but the transfer says it moved one credit more.
    const changed = await db.$executeRaw`UPDATE transfer SET amount = amount + 1 WHERE id = ${upstreamChargeId}::uuid`;
    expect(changed).toBe(1);
    expect(await broken(db)).toEqual([INVARIANTS.twoEntriesPerTransfer]);
  });

  it(INVARIANTS.balanceEqualsEntries, async () => {
    const { db, tenantId } = await soundLedger();
    // A credit with no entry behind it.
    await db.$executeRaw`UPDATE account SET available = available + 1 WHERE tenant_id = ${tenantId}::uuid`;
    expect(await broken(db)).toEqual([INVARIANTS.balanceEqualsEntries]);
  });

  it(INVARIANTS.noNegativeBalance, async () => {
    const { db, tenantId, accountId } = await soundLedger();
    // A reservation beyond the available balance: a pending hold of 500 moved
    // from available to held. The balance still equals its entries and held
    // its pending holds; only available is negative (the CHECK dropped to let it in).
    await db.$executeRawUnsafe('ALTER TABLE account DROP CONSTRAINT account_tenant_available_nonneg');
    await db.$executeRaw`INSERT INTO hold (id, account_id, tenant_id, amount, status, reference)
                         VALUES (${randomUUID()}::uuid, ${accountId}::uuid, ${tenantId}::uuid, 500, 'PENDING', 'overdraft')`;
    await db.$executeRaw`UPDATE account SET available = available - 500, held = held + 500 WHERE id = ${accountId}::uuid`;
    expect((await db.account.findUniqueOrThrow({ where: { id: accountId } })).available).toBeLessThan(0);
    expect(await broken(db)).toEqual([INVARIANTS.noNegativeBalance]);
  });

  it(INVARIANTS.heldEqualsPendingHolds, async () => {
    const { db, pendingHoldId } = await soundLedger();
    // A hold marked voided whose credits were never released from held.
    await db.$executeRaw`UPDATE hold SET status = 'VOIDED', resolved_at = now() WHERE id = ${pendingHoldId}::uuid`;
    expect(await broken(db)).toEqual([INVARIANTS.heldEqualsPendingHolds]);
  });

  it(`${INVARIANTS.postedHoldHasOneTransfer} (a posted hold with no transfer)`, async () => {
    const { db, voidedHoldId } = await soundLedger();
    // A voided hold marked posted: it never charged anything.
    await db.$executeRaw`UPDATE hold SET status = 'POSTED' WHERE id = ${voidedHoldId}::uuid`;
    expect(await broken(db)).toEqual([INVARIANTS.postedHoldHasOneTransfer]);
  });

  it(`${INVARIANTS.postedHoldHasOneTransfer} (a voided hold with a transfer)`, async () => {
    const { db, postedHoldId } = await soundLedger();
    // A posted hold marked voided while its charge stands.
    await db.$executeRaw`UPDATE hold SET status = 'VOIDED' WHERE id = ${postedHoldId}::uuid`;
    expect(await broken(db)).toEqual([INVARIANTS.postedHoldHasOneTransfer]);
  });

  it(INVARIANTS.reversalMirrors, async () => {
    const { db, refundId, topUpId } = await soundLedger();
    // A refund pointing at a transfer it does not mirror (the first top-up, of 100).
    await db.$executeRaw`UPDATE transfer SET reverses_id = ${topUpId}::uuid WHERE id = ${refundId}::uuid`;
    expect(await broken(db)).toEqual([INVARIANTS.reversalMirrors]);
  });

  it(INVARIANTS.balanceAfterIsRunningSum, async () => {
    const { db, accountId } = await soundLedger();
    // One tenant entry whose balanceAfter is off by one; amounts and balances are right.
    const changed = await db.$executeRaw`
      UPDATE entry SET balance_after = balance_after + 1
      WHERE id = (SELECT id FROM entry WHERE account_id = ${accountId}::uuid ORDER BY id LIMIT 1 OFFSET 2)`;
    expect(changed).toBe(1);
    expect(await broken(db)).toEqual([INVARIANTS.balanceAfterIsRunningSum]);
  });
});
