import type { Db } from '../db/client.ts';

export interface Violation {
  invariant: string;
  detail: string;
}

// Each check is a query that returns the rows breaking one invariant.
const CHECKS: { invariant: string; sql: string }[] = [
  {
    invariant: 'all entries sum to zero',
    sql: `SELECT 'sum=' || COALESCE(SUM(amount), 0) AS detail FROM entry HAVING COALESCE(SUM(amount), 0) <> 0`,
  },
  {
    invariant: 'each transfer has exactly two entries of opposite amount',
    sql: `SELECT 'transfer ' || t.id || ' entries=' || COUNT(e.id) || ' sum=' || COALESCE(SUM(e.amount), 0) AS detail
          FROM transfer t LEFT JOIN entry e ON e.transfer_id = t.id
          GROUP BY t.id, t.amount
          HAVING COUNT(e.id) <> 2 OR COALESCE(SUM(e.amount), 0) <> 0 OR MAX(e.amount) <> t.amount`,
  },
  {
    invariant: "each tenant account's balance equals the sum of its entries",
    sql: `SELECT 'account ' || a.id || ' balance=' || (a.available + a.held) || ' entries=' || COALESCE(SUM(e.amount), 0) AS detail
          FROM account a LEFT JOIN entry e ON e.account_id = a.id
          WHERE a.kind = 'TENANT'
          GROUP BY a.id HAVING a.available + a.held <> COALESCE(SUM(e.amount), 0)`,
  },
  {
    invariant: 'no tenant account has a negative available or held balance',
    sql: `SELECT 'account ' || id || ' available=' || available || ' held=' || held AS detail
          FROM account WHERE kind = 'TENANT' AND (available < 0 OR held < 0)`,
  },
  {
    invariant: "each tenant account's held balance equals its pending holds",
    sql: `SELECT 'account ' || a.id || ' held=' || a.held || ' pending=' || COALESCE(SUM(h.amount), 0) AS detail
          FROM account a LEFT JOIN hold h ON h.account_id = a.id AND h.status = 'PENDING'
          WHERE a.kind = 'TENANT'
          GROUP BY a.id HAVING a.held <> COALESCE(SUM(h.amount), 0)`,
  },
  {
    invariant: 'a posted hold has exactly one transfer of its amount; a pending or voided hold has none',
    sql: `SELECT 'hold ' || h.id || ' status=' || h.status || ' transfers=' || COUNT(t.id) AS detail
          FROM hold h LEFT JOIN transfer t ON t.hold_id = h.id
          GROUP BY h.id, h.status, h.amount
          HAVING (h.status = 'POSTED' AND (COUNT(t.id) <> 1 OR MAX(t.amount) <> h.amount))
              OR (h.status <> 'POSTED' AND COUNT(t.id) <> 0)`,
  },
  {
    invariant: 'a reversal mirrors the transfer it reverses',
    sql: `SELECT 'transfer ' || r.id || ' reverses ' || o.id AS detail
          FROM transfer r JOIN transfer o ON o.id = r.reverses_id
          WHERE r.amount <> o.amount OR r.debit_account_id <> o.credit_account_id
             OR r.credit_account_id <> o.debit_account_id`,
  },
  {
    invariant: "each tenant entry's balanceAfter is the running sum of its account",
    sql: `SELECT 'entry ' || id || ' balance_after=' || balance_after || ' running=' || running AS detail
          FROM (SELECT e.id, e.balance_after,
                       SUM(e.amount) OVER (PARTITION BY e.account_id ORDER BY e.id) AS running
                FROM entry e JOIN account a ON a.id = e.account_id AND a.kind = 'TENANT') s
          WHERE balance_after IS DISTINCT FROM running`,
  },
];

/** The invariants verifyLedger checks, by the name a violation carries. */
export const LEDGER_INVARIANTS: readonly string[] = CHECKS.map((check) => check.invariant);

/** Checks every ledger invariant; an empty list means the ledger is sound. */
export async function verifyLedger(db: Db): Promise<Violation[]> {
  const violations: Violation[] = [];
  for (const check of CHECKS) {
    const rows = await db.$queryRawUnsafe<{ detail: string }[]>(`${check.sql} LIMIT 100`);
    for (const row of rows) violations.push({ invariant: check.invariant, detail: row.detail });
  }
  return violations;
}
