import type { Tx } from '../db/client.ts';

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
