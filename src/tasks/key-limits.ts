// A key's credit limit (issueApiKey's creditLimit, creditLimitPeriod): the
// credits its generations may take per UTC day or month. Counted as steps of
// the lifecycle's statements (statements.ts), so the count moves with the
// money, all or nothing:
// - submit adds the task's price to the limit's `spent`, only if the window's
//   total stays within the limit (a conditional UPDATE, like the balance
//   check; the CHECK constraint is the last line of defence). A refused count
//   aborts the statement: KEY_LIMIT_EXCEEDED, nothing held.
// - reject and fail give the task's credits back, if its window is still the
//   current one (an earlier window's count no longer matters).
// Lock order: the limit row comes after the tenant's account row (both steps
// read the account step, so they run after it), in every statement.
import { raw, ref, sql, step, type Sql, type Step } from '../db/sql.ts';
import { col, type Column } from '../ledger/steps.ts';

/** The start of the UTC day or month that `at` falls in, for the limit row aliased `alias`. */
function windowOf(alias: string, at: Sql): Sql {
  return sql`date_trunc(CASE ${raw(alias)}.period WHEN 'DAY' THEN 'day' ELSE 'month' END, ${at}, 'UTC')`;
}

/** What the limit row aliased `alias` has spent in the window starting at `window`. */
function spentIn(alias: string, window: Sql): Sql {
  return sql`(CASE WHEN ${raw(alias)}.window_start = ${window} THEN ${raw(alias)}.spent ELSE 0 END)`;
}

/** The credit limit a key spends against (null: none), as SQL. */
export function limitOfKey(keyId: string | null): Sql {
  return keyId === null ? sql`NULL::uuid` : sql`(SELECT credit_limit_id FROM api_key WHERE id = ${keyId}::uuid)`;
}

/**
 * Counts a new task's price against its limit: yields the limit's row when
 * it was counted, nothing when the task has no limit or the limit would be
 * passed. `task` is the submit's task step (its `creditLimitId` and
 * `creditsCharged`); `account` the reservation's account step.
 */
export function countLimitStep(task: Step, account: Step, name = 'key_limit'): Step {
  const window = windowOf('l', sql`now()`);
  return step(
    name,
    sql`UPDATE key_credit_limit l SET window_start = ${window}, spent = ${spentIn('l', window)} + t."creditsCharged"
        FROM ${ref(task)} t, ${ref(account)} a
        WHERE l.id = t."creditLimitId" AND ${spentIn('l', window)} + t."creditsCharged" <= l.credits
        RETURNING l.id`,
  );
}

/** Holds unless the task counts against a limit that refused it. */
export function limitCounted(task: Step, counted: Step): Sql {
  return sql`(SELECT count(*) FROM ${ref(task)} t WHERE t."creditLimitId" IS NOT NULL) = (SELECT count(*) FROM ${ref(counted)})`;
}

/**
 * Gives a task's credits back to its limit when it ended without charge
 * (rejected, failed and refunded), if the window it counted in is still the
 * limit's current one. `amount` is a column with the credits given back
 * (the voided hold's or the refunded charge's); `account` the statement's
 * account step, which this follows.
 */
export function giveBackLimitStep(task: Step, amount: Column, account: Step, name = 'key_limit_back'): Step {
  return step(
    name,
    sql`UPDATE key_credit_limit l SET spent = GREATEST(l.spent - ${col(amount)}, 0)
        FROM ${ref(task)} t, ${ref(amount.step)}, ${ref(account)} a
        WHERE l.id = t."creditLimitId" AND l.window_start = ${windowOf('l', sql`t."createdAt"`)}
        RETURNING l.id`,
  );
}

export interface KeyCreditLimitRow {
  credits: number;
  period: 'DAY' | 'MONTH';
  windowStart: Date | null;
  spent: number;
}

/** The start of the UTC day or month `at` falls in: the same window as the SQL above. */
export function windowStartOf(period: 'DAY' | 'MONTH', at: Date): Date {
  return period === 'DAY'
    ? new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()))
    : new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
}

/** Credits spent in the window `at` falls in (0 once a new window starts). */
export function spentCredits(limit: KeyCreditLimitRow, at: Date): number {
  return limit.windowStart?.getTime() === windowStartOf(limit.period, at).getTime() ? limit.spent : 0;
}

/** Credits a key may still take in the window `at` falls in. */
export function remainingCredits(limit: KeyCreditLimitRow, at: Date): number {
  return Math.max(limit.credits - spentCredits(limit, at), 0);
}
