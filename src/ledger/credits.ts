// Credits an admin moves: top-ups (bought credits, from the TOP_UP system
// account) and adjustments (corrections either way, against the ADJUSTMENT
// account). Each is one statement that claims its idempotency key, moves the
// credits, writes the audit row and announces the new balance
// (ledger/transfer-steps.ts, creditSteps).
import { randomUUID } from 'node:crypto';
import { auditStep, type AuditActor } from '../audit/log.ts';
import { eventsArray, type Store } from '../db/announce.ts';
import { ledgerGuardOf } from '../db/errors.ts';
import { ref, sql, withSteps } from '../db/sql.ts';
import { IdempotencyConflictError, InsufficientCreditsError, NotFoundError, ValidationError } from '../errors.ts';
import { SYSTEM_ACCOUNTS } from './accounts.ts';
import { tenantEntryForTransfer, type LedgerEntryView } from './entries.ts';
import { balanceEvent, exists, ledgerRequire, MAX_BALANCE } from './steps.ts';
import { creditSteps, type Credit } from './transfer-steps.ts';

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
export async function topUp(store: Store, input: TopUpInput, actor?: AuditActor): Promise<LedgerEntryView> {
  return move(
    store,
    {
      tenantId: input.tenantId,
      amount: input.amount,
      kind: 'TOP_UP',
      fromAccountId: SYSTEM_ACCOUNTS.TOP_UP,
      idempotencyKey: input.idempotencyKey,
      note: input.note ?? null,
      transferId: randomUUID(),
    },
    actor && { actor, action: 'credits.topUp', details: { amount: input.amount, idempotencyKey: input.idempotencyKey } },
  );
}

export interface AdjustInput {
  tenantId: string;
  /** Signed: positive adds credits, negative removes them. Never zero. */
  amount: number;
  reason: string;
  idempotencyKey: string;
}

/**
 * Corrects a tenant's balance: an ADJUSTMENT transfer between the tenant and
 * the ADJUSTMENT system account, so the ledger still balances. Adding is
 * bounded by MAX_BALANCE (VALIDATION), removing by the available balance
 * (INSUFFICIENT_CREDITS: credits held for tasks in flight are not taken).
 * Idempotent per tenant and key, as top-ups are.
 */
export async function adjust(store: Store, input: AdjustInput, actor: AuditActor): Promise<LedgerEntryView> {
  if (!Number.isInteger(input.amount) || input.amount === 0) throw new ValidationError('amount: must be a non-zero whole number', 'amount');
  return move(
    store,
    {
      tenantId: input.tenantId,
      amount: Math.abs(input.amount),
      direction: input.amount > 0 ? 'in' : 'out',
      kind: 'ADJUSTMENT',
      fromAccountId: SYSTEM_ACCOUNTS.ADJUSTMENT,
      idempotencyKey: input.idempotencyKey,
      note: input.reason,
      transferId: randomUUID(),
    },
    { actor, action: 'credits.adjust', details: { amount: input.amount, reason: input.reason, idempotencyKey: input.idempotencyKey } },
  );
}

/** Runs one credit movement; a repeat of its key is answered from the first transfer. */
async function move(
  store: Store,
  credit: Credit,
  audit: { actor: AuditActor; action: 'credits.topUp' | 'credits.adjust'; details: Record<string, unknown> } | undefined,
): Promise<LedgerEntryView> {
  const out = credit.direction === 'out';
  const moved = creditSteps(credit);
  // Written when the transfer is (the step reads its row); PostgreSQL runs
  // every data-modifying step, so the final SELECT need not read it.
  const audited = audit
    ? [auditStep('audit', { ...audit, tenantId: credit.tenantId }, moved.transfer, { extra: sql`jsonb_build_object('transferId', r.id)` })]
    : [];
  let rows: { id: string; announced: unknown }[];
  try {
    rows = await store.db.$queryRaw(
      withSteps(
        [...moved.steps, ...audited],
        sql`SELECT t.id, ${ledgerRequire(exists(moved.account), out ? 'AVAILABLE_TOO_LOW' : 'BALANCE_LIMIT')} AS ok,
                   ${store.announcer.column(eventsArray([balanceEvent(moved.account)]))} AS announced
            FROM ${ref(moved.transfer)} t`,
      ),
    );
  } catch (error) {
    const guard = ledgerGuardOf(error);
    if (guard === 'BALANCE_LIMIT') throw new ValidationError(`amount: the balance would exceed ${MAX_BALANCE} credits`, 'amount');
    if (guard === 'AVAILABLE_TOO_LOW') {
      // The guard fires only on the tenant's account row, so it is there.
      const account = await store.db.account.findUniqueOrThrow({ where: { tenantId: credit.tenantId }, select: { available: true } });
      throw new InsufficientCreditsError(credit.amount, account.available);
    }
    throw error;
  }
  const created = rows[0];
  if (created) {
    store.announcer.committed(created.announced);
    return tenantEntryForTransfer(store.db, credit.tenantId, created.id);
  }
  // Nothing claimed: the key was used before (or there is no such tenant).
  const existing = await store.db.transfer.findUnique({
    where: { tenantId_idempotencyKey: { tenantId: credit.tenantId, idempotencyKey: credit.idempotencyKey } },
    select: { id: true, kind: true, amount: true, debitAccountId: true },
  });
  if (!existing) throw new NotFoundError('Tenant not found');
  const sameDirection = (existing.debitAccountId === credit.fromAccountId) === !out;
  if (existing.kind !== credit.kind || existing.amount !== credit.amount || !sameDirection) {
    throw new IdempotencyConflictError(
      `This idempotencyKey was already used for a different ${credit.kind === 'TOP_UP' ? 'top-up' : 'adjustment'} of this tenant`,
    );
  }
  return tenantEntryForTransfer(store.db, credit.tenantId, existing.id);
}
