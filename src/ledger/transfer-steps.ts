// Transfers as statement steps: between system accounts, refunds and
// reversals (each at most once: `reverses_id` is unique), credits from a
// system account, and freeing an in-flight slot. The rules are steps.ts's.
import type { TransferKind } from '../generated/prisma/enums.ts';
import { empty, ref, sql, step, type Step } from '../db/sql.ts';
import { ACCOUNT_RETURNING, col, entries, MAX_BALANCE, TRANSFER_RETURNING, type Column } from './steps.ts';

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
  /** Credits moved, always positive; `direction` says which way. */
  amount: number;
  kind: Extract<TransferKind, 'TOP_UP' | 'ADJUSTMENT'>;
  /** `in`: from the system account to the tenant; `out`: from the tenant back to it. */
  direction?: 'in' | 'out';
  /** The system account on the other side. */
  fromAccountId: string;
  /** Unique per tenant: the first transfer with it wins, a repeat claims nothing. */
  idempotencyKey: string;
  note: string | null;
  transferId: string;
}

/**
 * Moves credits between a tenant and a system account, idempotently: the
 * transfer claims its (tenant, key) first (ON CONFLICT DO NOTHING: a repeat
 * writes nothing), then the tenant's row is updated, on a condition:
 * - in: never past MAX_BALANCE (available and held together, summed as
 *   bigint: both columns are int4, and an int4 sum that passes 2^31 - 1 is
 *   an error, not a refusal); compose with
 *   `ledgerRequire(exists(account), 'BALANCE_LIMIT')` in the final SELECT;
 * - out: never below zero available; compose with
 *   `ledgerRequire(exists(account), 'AVAILABLE_TOO_LOW')`.
 * A refused update aborts the statement, so the claimed key goes too.
 */
export function creditSteps(c: Credit, prefix = 'credit') {
  const out = c.direction === 'out';
  const transfer = step(
    `${prefix}_transfer`,
    sql`INSERT INTO transfer (id, kind, amount, debit_account_id, credit_account_id, tenant_id, idempotency_key, note, created_at)
        SELECT ${c.transferId}::uuid, ${c.kind}::"TransferKind", ${c.amount}::int,
               ${out ? sql`account.id, ${c.fromAccountId}::uuid` : sql`${c.fromAccountId}::uuid, account.id`},
               account.tenant_id, ${c.idempotencyKey}, ${c.note}, now()
        FROM account WHERE account.tenant_id = ${c.tenantId}::uuid AND account.kind = 'TENANT'
        ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
        RETURNING ${TRANSFER_RETURNING}`,
  );
  const account = step(
    `${prefix}_account`,
    out
      ? sql`UPDATE account SET available = account.available - t.amount
            FROM ${ref(transfer)} t
            WHERE account.id = t.debit_account_id AND account.available >= t.amount
            RETURNING ${ACCOUNT_RETURNING}`
      : sql`UPDATE account SET available = account.available + t.amount
            FROM ${ref(transfer)} t
            WHERE account.id = t.credit_account_id AND account.available::bigint + account.held + t.amount <= ${MAX_BALANCE}
            RETURNING ${ACCOUNT_RETURNING}`,
  );
  const sides = out ? { debit: account } : { credit: account };
  return { transfer, account, steps: [transfer, account, entries(`${prefix}_entries`, transfer, sides)] };
}
