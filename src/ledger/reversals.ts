import type { Db, Tx } from '../db/client.ts';
import { isUniqueViolation } from '../db/errors.ts';
import type { TransferKind } from '../generated/prisma/enums.ts';
import { applyTransfer, type TransferRecord } from './transfers.ts';

/**
 * Reverses a transfer (a REFUND of a CHARGE, an UPSTREAM_REFUND of an
 * UPSTREAM_CHARGE): a new transfer of the same amount in the opposite
 * direction that points at the original. `transfer.reverses_id` is unique, so
 * however many callers race, exactly one reversal exists; the others get it
 * back with `created: false`.
 */
export async function reverseOnce(
  db: Db,
  originalId: string,
  options: { kind: TransferKind; note?: string | null },
): Promise<{ transfer: TransferRecord; created: boolean }> {
  const existing = await findReversal(db, originalId);
  if (existing) return { transfer: existing, created: false };
  try {
    const transfer = await db.$transaction((tx) => reverse(tx, originalId, options));
    return { transfer, created: true };
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    const winner = await findReversal(db, originalId);
    if (!winner) throw error;
    return { transfer: winner, created: false };
  }
}

async function findReversal(db: Db, originalId: string): Promise<TransferRecord | null> {
  return db.transfer.findUnique({
    where: { reversesId: originalId },
    select: { id: true, kind: true, amount: true, createdAt: true },
  });
}

/**
 * Writes the reversal inside the caller's transaction. A second reversal of
 * the same transfer violates `transfer.reverses_id`'s unique index and fails
 * the transaction; callers that may race use reverseOnce, or guard with their
 * own conditional update first (as task settlement does).
 */
export async function reverse(
  tx: Tx,
  originalId: string,
  options: { kind: TransferKind; note?: string | null },
): Promise<TransferRecord> {
  const original = await tx.transfer.findUniqueOrThrow({ where: { id: originalId } });
  return applyTransfer(tx, {
    kind: options.kind,
    amount: original.amount,
    debitAccountId: original.creditAccountId,
    creditAccountId: original.debitAccountId,
    tenantId: original.tenantId,
    reference: original.reference,
    note: options.note ?? null,
    reversesId: original.id,
  });
}
