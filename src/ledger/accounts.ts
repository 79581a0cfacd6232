import { auditStep, type AuditActor } from '../audit/log.ts';
import { eventsArray, type Store } from '../db/announce.ts';
import { query, type Db, type Tx } from '../db/client.ts';
import { ref, sql, step, withSteps } from '../db/sql.ts';
import { NotFoundError } from '../errors.ts';
import { ACCOUNT_RETURNING, balanceEvent } from './steps.ts';

// System accounts have fixed ids and are created by a migration, so every
// database (including each test's fresh clone) has them before any transfer.
export const SYSTEM_ACCOUNTS = {
  /** Where top-ups come from: its balance is minus everything ever sold. */
  TOP_UP: '00000000-0000-4000-8000-000000000001',
  /** Tenant charges land here; refunds leave from here. Net of upstream cost, it is the margin. */
  REVENUE: '00000000-0000-4000-8000-000000000002',
  /** What upstream charged us (mirrored), net of what it refunded. */
  UPSTREAM_SPEND: '00000000-0000-4000-8000-000000000003',
  /** Corrections an admin makes (adjustCredits): its balance is minus their net. */
  ADJUSTMENT: '00000000-0000-4000-8000-000000000004',
} as const;

export type SystemAccount = keyof typeof SYSTEM_ACCOUNTS;

/** Opens a tenant's account, empty, inside the caller's transaction (the one that creates the tenant). */
export async function openTenantAccount(tx: Tx, tenantId: string): Promise<void> {
  await tx.account.create({ data: { kind: 'TENANT', tenantId } });
}

/** Whether a balance is low: available below the threshold (none set: never). steps.ts's isLowSql is the same rule in SQL. */
export function isLow(balance: { available: number; lowBalanceThreshold: number | null }): boolean {
  return balance.available < (balance.lowBalanceThreshold ?? 0);
}

/** A tenant's balance as clients read it. */
export interface Balance {
  available: number;
  held: number;
  low: boolean;
}

/** A tenant without an account row (none is ever without one, but a read must not fail for it). */
const NO_BALANCE: Balance = { available: 0, held: 0, low: false };

/**
 * The balances of these tenants, in their order, in one statement: the
 * hottest read there is (`me { balance }`, every tenant of a page).
 */
export async function readBalances(db: Db, tenantIds: readonly string[]): Promise<Balance[]> {
  const rows = await query<{ tenant_id: string; available: number; held: number; low_balance_threshold: number | null }>(
    db,
    sql`SELECT tenant_id, available, held, low_balance_threshold FROM account WHERE tenant_id = ANY(${tenantIds}::uuid[])`,
  );
  const byTenant = new Map(rows.map((r) => [r.tenant_id, r]));
  return tenantIds.map((id) => {
    const row = byTenant.get(id);
    return row ? { available: row.available, held: row.held, low: isLow({ available: row.available, lowBalanceThreshold: row.low_balance_threshold }) } : NO_BALANCE;
  });
}

/**
 * Sets (or, with null, clears) the credits below which the tenant's balance
 * is `low`; audited in the same statement, and announced as a balance event
 * (its `low` by the new threshold), so live subscribers and balance alerts
 * (events/balance-alerts.ts) hear of a threshold that makes it low.
 */
export async function setLowBalanceThreshold(
  store: Store,
  input: { tenantId: string; credits: number | null },
  actor?: AuditActor,
): Promise<{ available: number; held: number; lowBalanceThreshold: number | null }> {
  const account = step(
    'account',
    sql`UPDATE account SET low_balance_threshold = ${input.credits}::int
        WHERE tenant_id = ${input.tenantId}::uuid AND kind = 'TENANT'
        RETURNING ${ACCOUNT_RETURNING}`,
  );
  const audit = actor
    ? [auditStep('audit', { actor, action: 'balance.setLowThreshold', tenantId: input.tenantId, details: { credits: input.credits } }, account)]
    : [];
  const rows = await store.db.$queryRaw<{ available: number; held: number; lowBalanceThreshold: number | null; announced: unknown }[]>(
    withSteps(
      [account, ...audit],
      sql`SELECT a.available, a.held, a.low_balance_threshold AS "lowBalanceThreshold",
                 ${store.announcer.column(eventsArray([balanceEvent(account)]))} AS announced
          FROM ${ref(account)} a`,
    ),
  );
  const row = rows[0];
  if (!row) throw new NotFoundError('Tenant not found');
  store.announcer.committed(row.announced);
  return { available: row.available, held: row.held, lowBalanceThreshold: row.lowBalanceThreshold };
}
