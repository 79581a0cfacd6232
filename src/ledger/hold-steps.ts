// Two-phase holds as statement steps: reserve (available → held), post (held
// → a transfer), void (held → available). The rules are steps.ts's.
import type { TransferKind } from '../generated/prisma/enums.ts';
import { empty, join, ref, sql, step, type Step } from '../db/sql.ts';
import { ACCOUNT_RETURNING, col, entries, TRANSFER_RETURNING, type Column } from './steps.ts';

export interface Reservation {
  tenantId: string;
  /** A step with one row and an `amount` column: what to hold (e.g. the tenant's price). */
  amountFrom: Step;
  /** Steps that must each yield a row for anything to be held (e.g. the task it is for). */
  after?: readonly Step[];
  holdId: string;
  reference: string;
  /** Also takes one of the tenant's in-flight slots, refusing when `limit` are in use. */
  slotLimit?: number;
}

/** Reserves credits: available → held, only if available covers it; then the PENDING hold. */
export function reserveSteps(r: Reservation, prefix = 'reserve') {
  const slot = r.slotLimit !== undefined;
  const from = [sql`${ref(r.amountFrom)} src`, ...(r.after ?? []).map((s) => ref(s))];
  const account = step(
    `${prefix}_account`,
    sql`UPDATE account SET available = account.available - src.amount, held = account.held + src.amount
          ${slot ? sql`, in_flight = account.in_flight + 1` : empty}
        FROM ${join(from, ', ')}
        WHERE account.tenant_id = ${r.tenantId}::uuid AND account.kind = 'TENANT' AND account.available >= src.amount
          ${slot ? sql`AND account.in_flight < ${r.slotLimit}` : empty}
        RETURNING ${ACCOUNT_RETURNING}`,
  );
  const hold = step(
    `${prefix}_hold`,
    sql`INSERT INTO hold (id, account_id, tenant_id, amount, status, reference, created_at)
        SELECT ${r.holdId}::uuid, a.id, a.tenant_id, src.amount, 'PENDING', ${r.reference}, now()
        FROM ${ref(account)} a, ${ref(r.amountFrom)} src
        RETURNING id, amount`,
  );
  return { account, hold, steps: [account, hold] };
}

export interface Posting {
  /** The hold to post, e.g. the task's `hold_id`. */
  holdId: Column;
  transferId: string;
  kind: Extract<TransferKind, 'CHARGE' | 'ADJUSTMENT'>;
  /** Where the credits go: revenue for a charge. */
  creditAccountId: string;
  note: string | null;
}

/** Posts a PENDING hold: held → a transfer from the tenant of the hold's amount. */
export function postHoldSteps(p: Posting, prefix = 'post') {
  const hold = step(
    `${prefix}_hold`,
    sql`UPDATE hold SET status = 'POSTED', resolved_at = now()
        FROM ${ref(p.holdId.step)} WHERE hold.id = ${col(p.holdId)} AND hold.status = 'PENDING'
        RETURNING hold.id, hold.account_id, hold.tenant_id, hold.amount, hold.reference`,
  );
  const account = step(
    `${prefix}_account`,
    sql`UPDATE account SET held = account.held - h.amount FROM ${ref(hold)} h WHERE account.id = h.account_id
        RETURNING ${ACCOUNT_RETURNING}`,
  );
  const transfer = step(
    `${prefix}_transfer`,
    sql`INSERT INTO transfer (id, kind, amount, debit_account_id, credit_account_id, tenant_id, reference, note, hold_id, created_at)
        SELECT ${p.transferId}::uuid, ${p.kind}::"TransferKind", h.amount, h.account_id, ${p.creditAccountId}::uuid,
               h.tenant_id, h.reference, ${p.note}, h.id, now()
        FROM ${ref(hold)} h
        RETURNING ${TRANSFER_RETURNING}`,
  );
  return { hold, account, transfer, steps: [hold, account, transfer, entries(`${prefix}_entries`, transfer, { debit: account })] };
}

/** Voids a PENDING hold: held → available; optionally frees the in-flight slot it took. */
export function voidHoldSteps(v: { holdId: Column; releaseSlot: boolean }, prefix = 'void') {
  const hold = step(
    `${prefix}_hold`,
    sql`UPDATE hold SET status = 'VOIDED', resolved_at = now()
        FROM ${ref(v.holdId.step)} WHERE hold.id = ${col(v.holdId)} AND hold.status = 'PENDING'
        RETURNING hold.account_id, hold.amount`,
  );
  const account = step(
    `${prefix}_account`,
    sql`UPDATE account SET available = account.available + h.amount, held = account.held - h.amount
          ${v.releaseSlot ? sql`, in_flight = account.in_flight - 1` : empty}
        FROM ${ref(hold)} h WHERE account.id = h.account_id
        RETURNING ${ACCOUNT_RETURNING}`,
  );
  return { hold, account, steps: [hold, account] };
}
