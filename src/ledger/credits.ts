// Credits a tenant buys: top-ups, from the TOP_UP system account. Each is
// one statement that claims its idempotency key, credits the tenant and
// announces the new balance (ledger/transfer-steps.ts, creditSteps).
import { randomUUID } from 'node:crypto';
import { eventsArray, type Store } from '../db/announce.ts';
import { ledgerGuardOf } from '../db/errors.ts';
import { ref, sql, withSteps } from '../db/sql.ts';
import { IdempotencyConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { SYSTEM_ACCOUNTS } from './accounts.ts';
import { tenantEntryForTransfer, type LedgerEntryView } from './entries.ts';
import { balanceEvent, exists, ledgerRequire, MAX_BALANCE } from './steps.ts';
import { creditSteps } from './transfer-steps.ts';

export interface TopUpInput {
  tenantId: string;
  amount: number;
  idempotencyKey: string;
  note?: string | null;
}

/**
 * Credits a tenant from the top-up account. Idempotent per tenant and key: a
 * repeat with the same amount returns the first entry; another amount (or
 * the key used by another kind of transfer) is IDEMPOTENCY_CONFLICT.
 * Concurrent repeats wait on the key's unique index, then claim nothing.
 */
export async function topUp(store: Store, input: TopUpInput): Promise<LedgerEntryView> {
  const credit = creditSteps({
    tenantId: input.tenantId,
    amount: input.amount,
    kind: 'TOP_UP',
    fromAccountId: SYSTEM_ACCOUNTS.TOP_UP,
    idempotencyKey: input.idempotencyKey,
    note: input.note ?? null,
    transferId: randomUUID(),
  });
  let rows: { id: string; announced: unknown }[];
  try {
    rows = await store.db.$queryRaw(
      withSteps(
        credit.steps,
        sql`SELECT t.id, ${ledgerRequire(exists(credit.account), 'BALANCE_LIMIT')} AS ok,
                   ${store.announcer.column(eventsArray([balanceEvent(credit.account)]))} AS announced
            FROM ${ref(credit.transfer)} t`,
      ),
    );
  } catch (error) {
    if (ledgerGuardOf(error) === 'BALANCE_LIMIT') {
      throw new ValidationError(`The balance would exceed ${MAX_BALANCE} credits`, 'amount');
    }
    throw error;
  }
  const created = rows[0];
  if (created) {
    store.announcer.committed(created.announced);
    return tenantEntryForTransfer(store.db, input.tenantId, created.id);
  }
  // Nothing claimed: the key was used before (or there is no such tenant).
  const existing = await store.db.transfer.findUnique({
    where: { tenantId_idempotencyKey: { tenantId: input.tenantId, idempotencyKey: input.idempotencyKey } },
    select: { id: true, kind: true, amount: true },
  });
  if (!existing) throw new NotFoundError('Tenant not found');
  if (existing.kind !== 'TOP_UP' || existing.amount !== input.amount) {
    throw new IdempotencyConflictError('This idempotencyKey was already used for a different top-up of this tenant');
  }
  return tenantEntryForTransfer(store.db, input.tenantId, existing.id);
}
