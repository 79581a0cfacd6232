// Every write to `account`, `hold`, `transfer` and `entry` is built in this
// file and its two neighbours, hold-steps.ts (reserve, post, void) and
// transfer-steps.ts (system transfers, refunds, reversals, credits, slots),
// as steps of one SQL statement (db/sql.ts). The ledger's own operations run
// them alone (holds.ts, credits.ts); the task lifecycle joins them with its
// task steps in one statement (tasks/statements.ts), so a generation pays in
// one round trip and the ledger's tests exercise the very SQL production runs.
// A credit is charged in one place: postHoldSteps, composed by acceptStatement.
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
import { raw, ref, sql, step, type Sql, type Step } from '../db/sql.ts';

/** A column of an earlier step: e.g. `{ step: 'task', column: 'hold_id' }`. */
export interface Column {
  step: Step | string;
  column: string;
}

export function col(c: Column): Sql {
  return sql`${ref(c.step)}.${raw(c.column)}`;
}

/** Largest balance a tenant account may hold; its columns are 32-bit integers. */
export const MAX_BALANCE = 2_000_000_000;

/** What every tenant-account step returns. */
export const ACCOUNT_RETURNING = sql`account.id, account.tenant_id, account.available, account.held, account.low_balance_threshold`;

/** Aborts the whole statement with SQLSTATE GW001 and `reason` unless `condition` holds (see the migration). */
export function ledgerRequire(condition: Sql, reason: LedgerGuard): Sql {
  return sql`ledger_require(${condition}, ${reason})`;
}

/** Why a guarded statement aborted (db/errors.ts reads it back). */
export type LedgerGuard =
  | 'RESERVATION_REFUSED'
  | 'HOLD_NOT_PENDING'
  | 'BALANCE_LIMIT'
  | 'AVAILABLE_TOO_LOW'
  | 'ORIGINAL_NOT_FOUND'
  // Not money, but refused in the same statement as the hold they prevent (tasks/statements.ts).
  | 'TENANT_SUSPENDED'
  | 'KEY_LIMIT_EXCEEDED';

/** The two entries of a transfer step; a tenant side records its posted balance after, from its account step. */
export function entries(name: string, transfer: Step, sides: { debit?: Step; credit?: Step }): Step {
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

export const TRANSFER_RETURNING = sql`id, amount, debit_account_id, credit_account_id, tenant_id, created_at`;

/** `EXISTS (SELECT 1 FROM step)`, for guards. */
export function exists(s: Step): Sql {
  return sql`EXISTS (SELECT 1 FROM ${ref(s)})`;
}

/** Whether a balance is low: available below the tenant's threshold (none set: never). The one rule, in SQL. */
export function isLowSql(alias: string): Sql {
  return sql`(${raw(alias)}.available < COALESCE(${raw(alias)}.low_balance_threshold, 0))`;
}

/** The balance event of an account step: what `balanceChanged` subscribers receive (null when it moved nothing). */
export function balanceEvent(account: Step): Sql {
  return sql`(SELECT jsonb_build_object('type', 'balance', 'tenantId', a.tenant_id, 'available', a.available, 'held', a.held,
                                        'low', ${isLowSql('a')})
              FROM ${ref(account)} a)`;
}
