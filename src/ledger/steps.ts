// Every write to `account`, `hold`, `transfer` and `entry` is built here, as
// steps of one SQL statement (db/sql.ts). The ledger's own operations run
// them alone (holds.ts, credits.ts); the task lifecycle joins them with its
// task steps in one statement (tasks/statements.ts), so a generation pays in
// one round trip and the ledger's tests exercise the very SQL production runs.
//
// Rules every composition keeps (DESIGN.md, "The ledger"):
// - A statement updates a tenant's account row at most once (PostgreSQL
//   applies only one of two updates of a row in one statement), so an
//   operation that both moves money and frees an in-flight slot does it in
//   one account step.
// - A balance check is the conditional UPDATE itself (`WHERE available >=`);
//   the CHECK constraints are the last line of defence.
// - Lock order: the row that names the request (a task, an idempotency key)
//   first, then the hold, then the tenant's account row. A step that needs
//   another step's rows runs after it, which is how the order is kept.
//   System accounts are never updated (their balance is their entries), so
//   never locked.
import type { TransferKind } from '../generated/prisma/enums.ts';
import { empty, join, raw, ref, sql, step, type Sql, type Step } from '../db/sql.ts';

/** A column of an earlier step: e.g. `{ step: 'task', column: 'hold_id' }`. */
export interface Column {
  step: Step | string;
  column: string;
}

function col(c: Column): Sql {
  return sql`${ref(c.step)}.${raw(c.column)}`;
}

/** Largest balance a tenant account may hold; its columns are 32-bit integers. */
export const MAX_BALANCE = 2_000_000_000;

/** What every tenant-account step returns. */
const ACCOUNT_RETURNING = sql`account.id, account.tenant_id, account.available, account.held`;

/** Aborts the whole statement with SQLSTATE GW001 and `reason` unless `condition` holds (see the migration). */
export function ledgerRequire(condition: Sql, reason: LedgerGuard): Sql {
  return sql`ledger_require(${condition}, ${reason})`;
}

/** Why a guarded statement aborted (db/errors.ts reads it back). */
export type LedgerGuard = 'RESERVATION_REFUSED' | 'HOLD_NOT_PENDING' | 'BALANCE_LIMIT' | 'ORIGINAL_NOT_FOUND';

/** The two entries of a transfer step; a tenant side records its posted balance after, from its account step. */
function entries(name: string, transfer: Step, sides: { debit?: Step; credit?: Step }): Step {
  const after = (account?: Step) =>
    account ? sql`(SELECT a.available + a.held FROM ${ref(account)} a)` : sql`NULL::int`;
  return step(
    name,
    sql`INSERT INTO entry (transfer_id, account_id, amount, balance_after, created_at)
        SELECT t.id, t.debit_account_id, -t.amount, ${after(sides.debit)}, t.created_at FROM ${ref(transfer)} t
        UNION ALL
        SELECT t.id, t.credit_account_id, t.amount, ${after(sides.credit)}, t.created_at FROM ${ref(transfer)} t
        RETURNING id`,
  );
}

const TRANSFER_RETURNING = sql`id, amount, debit_account_id, credit_account_id, tenant_id, created_at`;

// ---------------------------------------------------------------- holds

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

// ---------------------------------------------------------------- transfers

export interface SystemTransfer {
  /** A step whose row carries `tenant_id` and `reference`: whom and what the transfer is about. */
  about: Step;
  transferId: string;
  kind: TransferKind;
  amount: number;
  debitAccountId: string;
  creditAccountId: string;
  note: string | null;
}

/** A transfer between two system accounts (no balance columns, so no lock): e.g. the mirror of upstream's charge. */
export function systemTransferSteps(t: SystemTransfer, prefix = 'system') {
  const transfer = step(
    `${prefix}_transfer`,
    sql`INSERT INTO transfer (id, kind, amount, debit_account_id, credit_account_id, tenant_id, reference, note, created_at)
        SELECT ${t.transferId}::uuid, ${t.kind}::"TransferKind", ${t.amount}::int, ${t.debitAccountId}::uuid,
               ${t.creditAccountId}::uuid, s.tenant_id, s.reference, ${t.note}, now()
        FROM ${ref(t.about)} s
        RETURNING ${TRANSFER_RETURNING}`,
  );
  return { transfer, steps: [transfer, entries(`${prefix}_entries`, transfer, {})] };
}

export interface Reversal {
  /** The transfer to reverse, e.g. the task's `charge_id`. */
  original: Column;
  transferId: string;
  kind: Extract<TransferKind, 'REFUND' | 'UPSTREAM_REFUND'>;
  note: string | null;
}

function originalStep(r: Reversal, name: string, tenantSide: 'debit' | null): Step {
  return step(
    name,
    sql`SELECT t.id, t.amount, t.debit_account_id, t.credit_account_id, t.tenant_id, t.reference
        FROM transfer t JOIN ${ref(r.original.step)} ON t.id = ${col(r.original)}
        ${tenantSide ? sql`JOIN account da ON da.id = t.debit_account_id AND da.kind = 'TENANT'` : empty}`,
  );
}

function reversalTransfer(r: Reversal, name: string, original: Step): Step {
  return step(
    name,
    sql`INSERT INTO transfer (id, kind, amount, debit_account_id, credit_account_id, tenant_id, reference, note, reverses_id, created_at)
        SELECT ${r.transferId}::uuid, ${r.kind}::"TransferKind", o.amount, o.credit_account_id, o.debit_account_id,
               o.tenant_id, o.reference, ${r.note}, o.id, now()
        FROM ${ref(original)} o
        RETURNING ${TRANSFER_RETURNING}`,
  );
}

/**
 * Reverses a transfer that debited a tenant (a CHARGE): the same amount back
 * to the tenant, pointing at the original (`reverses_id` is unique: at most
 * one refund per charge); optionally frees the tenant's in-flight slot in the
 * same account step.
 */
export function refundSteps(r: Reversal & { releaseSlot: boolean }, prefix = 'refund') {
  const original = originalStep(r, `${prefix}_original`, 'debit');
  const account = step(
    `${prefix}_account`,
    sql`UPDATE account SET available = account.available + o.amount
          ${r.releaseSlot ? sql`, in_flight = account.in_flight - 1` : empty}
        FROM ${ref(original)} o WHERE account.id = o.debit_account_id
        RETURNING ${ACCOUNT_RETURNING}`,
  );
  const transfer = reversalTransfer(r, `${prefix}_transfer`, original);
  return {
    original,
    account,
    transfer,
    steps: [original, account, transfer, entries(`${prefix}_entries`, transfer, { credit: account })],
  };
}

/** Reverses a transfer between system accounts (the mirror of upstream's charge, when upstream refunds). */
export function reverseSystemSteps(r: Reversal, prefix = 'reverse') {
  const original = originalStep(r, `${prefix}_original`, null);
  const transfer = reversalTransfer(r, `${prefix}_transfer`, original);
  return { original, transfer, steps: [original, transfer, entries(`${prefix}_entries`, transfer, {})] };
}

/** Frees one in-flight slot of the tenant named by `tenantId` (a task that ended without money moving). */
export function releaseSlotStep(tenantId: Column, name = 'release_slot'): Step {
  return step(
    name,
    sql`UPDATE account SET in_flight = account.in_flight - 1
        FROM ${ref(tenantId.step)} WHERE account.tenant_id = ${col(tenantId)} AND account.kind = 'TENANT'
        RETURNING ${ACCOUNT_RETURNING}`,
  );
}

export interface Credit {
  tenantId: string;
  amount: number;
  kind: Extract<TransferKind, 'TOP_UP' | 'ADJUSTMENT'>;
  /** The system account the credits come from. */
  fromAccountId: string;
  /** Unique per tenant: the first transfer with it wins, a repeat claims nothing. */
  idempotencyKey: string;
  note: string | null;
  transferId: string;
}

/**
 * Credits a tenant from a system account, idempotently: the transfer claims
 * its (tenant, key) first (ON CONFLICT DO NOTHING: a repeat writes nothing),
 * then the tenant's row is credited, never past MAX_BALANCE. Compose with
 * `ledgerRequire(exists(account), 'BALANCE_LIMIT')` in the final SELECT.
 */
export function creditSteps(c: Credit, prefix = 'credit') {
  const transfer = step(
    `${prefix}_transfer`,
    sql`INSERT INTO transfer (id, kind, amount, debit_account_id, credit_account_id, tenant_id, idempotency_key, note, created_at)
        SELECT ${c.transferId}::uuid, ${c.kind}::"TransferKind", ${c.amount}::int, ${c.fromAccountId}::uuid, account.id,
               account.tenant_id, ${c.idempotencyKey}, ${c.note}, now()
        FROM account WHERE account.tenant_id = ${c.tenantId}::uuid AND account.kind = 'TENANT'
        ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
        RETURNING ${TRANSFER_RETURNING}`,
  );
  const account = step(
    `${prefix}_account`,
    sql`UPDATE account SET available = account.available + t.amount
        FROM ${ref(transfer)} t WHERE account.id = t.credit_account_id AND account.available + t.amount <= ${MAX_BALANCE}
        RETURNING ${ACCOUNT_RETURNING}`,
  );
  return { transfer, account, steps: [transfer, account, entries(`${prefix}_entries`, transfer, { credit: account })] };
}

/** `EXISTS (SELECT 1 FROM step)`, for guards. */
export function exists(s: Step): Sql {
  return sql`EXISTS (SELECT 1 FROM ${ref(s)})`;
}

/** The balance event of an account step: what `balanceChanged` subscribers receive (null when it moved nothing). */
export function balanceEvent(account: Step): Sql {
  return sql`(SELECT jsonb_build_object('type', 'balance', 'tenantId', a.tenant_id, 'available', a.available, 'held', a.held)
              FROM ${ref(account)} a)`;
}
