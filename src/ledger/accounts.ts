import { recordAudit, type AuditActor } from '../audit/log.ts';
import type { Db, Tx } from '../db/client.ts';
import { NotFoundError } from '../errors.ts';

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

/**
 * Sets (or, with null, clears) the credits below which the tenant's balance
 * is `low`; audited in the same transaction. The next balance change
 * announces `low` by the new threshold.
 */
export async function setLowBalanceThreshold(
  db: Db,
  input: { tenantId: string; credits: number | null },
  actor?: AuditActor,
): Promise<{ available: number; held: number; lowBalanceThreshold: number | null }> {
  return db.$transaction(async (tx) => {
    const { count } = await tx.account.updateMany({
      where: { tenantId: input.tenantId, kind: 'TENANT' },
      data: { lowBalanceThreshold: input.credits },
    });
    if (count === 0) throw new NotFoundError('Tenant not found');
    if (actor) {
      await recordAudit(tx, { actor, action: 'balance.setLowThreshold', tenantId: input.tenantId, details: { credits: input.credits } });
    }
    return tx.account.findUniqueOrThrow({
      where: { tenantId: input.tenantId },
      select: { available: true, held: true, lowBalanceThreshold: true },
    });
  });
}
