// Two-phase holds, as TigerBeetle's pending transfers: reserve moves credits
// from available to held; post turns the hold into a transfer; void releases
// it; each exactly once. These run the steps of ledger/hold-steps.ts on their own;
// the task lifecycle runs the same steps inside its own statements.
import { randomUUID } from 'node:crypto';
import { eventsArray, type Store } from '../db/announce.ts';
import { ref, sql, step, withSteps } from '../db/sql.ts';
import { InsufficientCreditsError, NotFoundError } from '../errors.ts';
import type { TransferKind } from '../generated/prisma/enums.ts';
import { SYSTEM_ACCOUNTS } from './accounts.ts';
import { postHoldSteps, reserveSteps, voidHoldSteps } from './hold-steps.ts';
import { balanceEvent } from './steps.ts';

export interface HoldRecord {
  id: string;
  amount: number;
}

export interface TransferRecord {
  id: string;
  kind: TransferKind;
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

/** Reserves `amount` of the tenant's available credits, or fails at once when they do not cover it. */
export async function reserve(store: Store, input: { tenantId: string; amount: number; reference: string }): Promise<HoldRecord> {
  const amount = step('amount', sql`SELECT ${input.amount}::int AS amount`);
  const r = reserveSteps({ tenantId: input.tenantId, amountFrom: amount, holdId: randomUUID(), reference: input.reference });
  const rows = await store.db.$queryRaw<(HoldRecord & { announced: unknown })[]>(
    withSteps(
      [amount, ...r.steps],
      sql`SELECT h.id, h.amount, ${store.announcer.column(eventsArray([balanceEvent(r.account)]))} AS announced
          FROM ${ref(r.hold)} h`,
    ),
  );
  const hold = rows[0];
  if (hold) {
    store.announcer.committed(hold.announced);
    return { id: hold.id, amount: hold.amount };
  }
  const account = await store.db.account.findUnique({ where: { tenantId: input.tenantId }, select: { available: true } });
  if (!account) throw new NotFoundError('Tenant not found');
  throw new InsufficientCreditsError(input.amount, account.available);
}

function target(holdId: string) {
  return step('target', sql`SELECT ${holdId}::uuid AS hold_id`);
}

/** Posts a pending hold as a CHARGE to revenue (or where told). Throws HoldNotPendingError if it was posted or voided. */
export async function post(
  store: Store,
  holdId: string,
  options: { kind?: 'CHARGE' | 'ADJUSTMENT'; creditAccountId?: string; note?: string | null } = {},
): Promise<TransferRecord> {
  const t = target(holdId);
  const p = postHoldSteps({
    holdId: { step: t, column: 'hold_id' },
    transferId: randomUUID(),
    kind: options.kind ?? 'CHARGE',
    creditAccountId: options.creditAccountId ?? SYSTEM_ACCOUNTS.REVENUE,
    note: options.note ?? null,
  });
  const rows = await store.db.$queryRaw<(TransferRecord & { announced: unknown })[]>(
    withSteps(
      [t, ...p.steps],
      sql`SELECT tr.id, ${options.kind ?? 'CHARGE'} AS kind, tr.amount, tr.created_at AS "createdAt",
                 ${store.announcer.column(eventsArray([balanceEvent(p.account)]))} AS announced
          FROM ${ref(p.transfer)} tr`,
    ),
  );
  const transfer = rows[0];
  if (!transfer) throw new HoldNotPendingError(holdId);
  store.announcer.committed(transfer.announced);
  return { id: transfer.id, kind: transfer.kind, amount: transfer.amount, createdAt: transfer.createdAt };
}

/** Releases a pending hold. Returns false when it was no longer pending. */
export async function voidHold(store: Store, holdId: string): Promise<boolean> {
  const t = target(holdId);
  const v = voidHoldSteps({ holdId: { step: t, column: 'hold_id' }, releaseSlot: false });
  const rows = await store.db.$queryRaw<{ announced: unknown }[]>(
    withSteps([t, ...v.steps], sql`SELECT ${store.announcer.column(eventsArray([balanceEvent(v.account)]))} AS announced FROM ${ref(v.account)}`),
  );
  if (!rows[0]) return false;
  store.announcer.committed(rows[0].announced);
  return true;
}
