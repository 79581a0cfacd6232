import { randomUUID } from 'node:crypto';
import type { Db, Tx } from '../db/client.ts';
import { InsufficientCreditsError, NotFoundError } from '../errors.ts';
import { SYSTEM_ACCOUNTS } from './accounts.ts';
import { assertAmount, type TransferRecord } from './transfers.ts';

// Two-phase holds, as TigerBeetle's pending transfers: reserve moves credits
// from available to held; post turns the hold into a CHARGE transfer; void
// releases it. Each step is a single SQL statement, so each is atomic on its
// own and takes the tenant's row lock for one statement only: the hot path
// of every generation request.

export interface HoldRecord {
  id: string;
  amount: number;
  createdAt: Date;
}

/** A post or void of a hold that is no longer pending: a bug or a lost race. */
export class HoldNotPendingError extends Error {
  constructor(readonly holdId: string) {
    super(`Hold ${holdId} is not pending`);
    this.name = 'HoldNotPendingError';
  }
}

/**
 * Reserves `amount` of the tenant's available credits. The balance check and
 * the reservation are one conditional UPDATE; it fails at once, without
 * waiting for anything but the row lock, when the balance is too low.
 */
export async function reserve(
  db: Db | Tx,
  input: { tenantId: string; amount: number; reference: string; id?: string },
): Promise<HoldRecord> {
  assertAmount(input.amount);
  const id = input.id ?? randomUUID();
  const rows = await db.$queryRaw<HoldRecord[]>`
    WITH acc AS (
      UPDATE account SET available = available - ${input.amount}, held = held + ${input.amount}
      WHERE tenant_id = ${input.tenantId}::uuid AND available >= ${input.amount}
      RETURNING id
    )
    INSERT INTO hold (id, account_id, tenant_id, amount, status, reference, created_at)
    SELECT ${id}::uuid, acc.id, ${input.tenantId}::uuid, ${input.amount}, 'PENDING', ${input.reference}, now()
    FROM acc
    RETURNING id, amount, created_at AS "createdAt"`;
  const hold = rows[0];
  if (hold) return hold;
  const account = await db.account.findUnique({
    where: { tenantId: input.tenantId },
    select: { available: true },
  });
  if (!account) throw new NotFoundError('Tenant not found');
  throw new InsufficientCreditsError(input.amount, account.available);
}

/**
 * Posts a pending hold as a transfer of its full amount from the tenant to
 * `creditAccountId` (revenue by default). Throws HoldNotPendingError when the
 * hold was already posted or voided, so a hold is posted at most once.
 */
export async function post(
  db: Db | Tx,
  holdId: string,
  options: { kind?: 'CHARGE' | 'ADJUSTMENT'; creditAccountId?: string; note?: string | null } = {},
): Promise<TransferRecord> {
  const transferId = randomUUID();
  const kind = options.kind ?? 'CHARGE';
  const credit = options.creditAccountId ?? SYSTEM_ACCOUNTS.REVENUE;
  const note = options.note ?? null;
  // Data-modifying CTEs run as one statement on one snapshot; the foreign
  // keys between the new rows are checked at its end.
  const rows = await db.$queryRaw<TransferRecord[]>`
    WITH h AS (
      UPDATE hold SET status = 'POSTED', resolved_at = now()
      WHERE id = ${holdId}::uuid AND status = 'PENDING'
      RETURNING id, account_id, tenant_id, amount, reference
    ), a AS (
      UPDATE account SET held = account.held - h.amount
      FROM h WHERE account.id = h.account_id
      RETURNING account.available + account.held AS balance_after
    ), t AS (
      INSERT INTO transfer (id, kind, amount, debit_account_id, credit_account_id, tenant_id, reference, note, hold_id, created_at)
      SELECT ${transferId}::uuid, ${kind}::"TransferKind", h.amount, h.account_id, ${credit}::uuid, h.tenant_id, h.reference, ${note}, h.id, now()
      FROM h
      RETURNING id, kind, amount, created_at
    ), e AS (
      INSERT INTO entry (transfer_id, account_id, amount, balance_after, created_at)
      SELECT t.id, h.account_id, -h.amount, a.balance_after, t.created_at FROM t, h, a
      UNION ALL
      SELECT t.id, ${credit}::uuid, h.amount, NULL, t.created_at FROM t, h
    )
    SELECT id, kind::text AS kind, amount, created_at AS "createdAt" FROM t`;
  const transfer = rows[0];
  if (!transfer) throw new HoldNotPendingError(holdId);
  return transfer;
}

/** Releases a pending hold. Returns false when it was no longer pending. */
export async function voidHold(db: Db | Tx, holdId: string): Promise<boolean> {
  const released = await db.$executeRaw`
    WITH h AS (
      UPDATE hold SET status = 'VOIDED', resolved_at = now()
      WHERE id = ${holdId}::uuid AND status = 'PENDING'
      RETURNING account_id, amount
    )
    UPDATE account SET available = account.available + h.amount, held = account.held - h.amount
    FROM h WHERE account.id = h.account_id`;
  return released === 1;
}
