import type { Db } from '../db/client.ts';
import { isUniqueViolation } from '../db/errors.ts';
import { IdempotencyConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { SYSTEM_ACCOUNTS } from './accounts.ts';
import { tenantEntryForTransfer, type LedgerEntryView } from './entries.ts';
import { applyTransfer, assertAmount } from './transfers.ts';

export interface TopUpInput {
  tenantId: string;
  amount: number;
  idempotencyKey: string;
  note?: string | null;
}

export function assertIdempotencyKey(key: string): void {
  if (key.length < 1 || key.length > 200) {
    throw new ValidationError('idempotencyKey must be 1 to 200 characters', 'idempotencyKey');
  }
}

/**
 * Credits a tenant from the top-up account. Idempotent per tenant and key:
 * a repeat with the same amount returns the first entry; a different amount
 * is an IdempotencyConflictError. Concurrent repeats serialise on the
 * (tenant, key) unique index; the losers roll back and read the winner.
 */
export async function topUp(db: Db, input: TopUpInput): Promise<LedgerEntryView> {
  assertAmount(input.amount);
  assertIdempotencyKey(input.idempotencyKey);
  if (input.note && input.note.length > 500) {
    throw new ValidationError('note must be at most 500 characters', 'note');
  }
  try {
    return await db.$transaction(async (tx) => {
      const account = await tx.account.findUnique({ where: { tenantId: input.tenantId }, select: { id: true } });
      if (!account) throw new NotFoundError('Tenant not found');
      const transfer = await applyTransfer(tx, {
        kind: 'TOP_UP',
        amount: input.amount,
        debitAccountId: SYSTEM_ACCOUNTS.TOP_UP,
        creditAccountId: account.id,
        tenantId: input.tenantId,
        idempotencyKey: input.idempotencyKey,
        note: input.note ?? null,
      });
      return tenantEntryForTransfer(tx, input.tenantId, transfer.id);
    });
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    const existing = await db.transfer.findUnique({
      where: { tenantId_idempotencyKey: { tenantId: input.tenantId, idempotencyKey: input.idempotencyKey } },
      select: { id: true, kind: true, amount: true },
    });
    if (!existing) throw error;
    if (existing.kind !== 'TOP_UP' || existing.amount !== input.amount) {
      throw new IdempotencyConflictError(
        'This idempotencyKey was already used for a different top-up of this tenant',
      );
    }
    return tenantEntryForTransfer(db, input.tenantId, existing.id);
  }
}
