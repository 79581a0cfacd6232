import type { Db, Tx } from '../db/client.ts';

// System accounts have fixed ids and are created by a migration, so every
// database (including each test's fresh clone) has them before any transfer.
export const SYSTEM_ACCOUNTS = {
  /** Where top-ups come from: its balance is minus everything ever sold. */
  TOP_UP: '00000000-0000-4000-8000-000000000001',
  /** Tenant charges land here; refunds leave from here. Net of upstream cost, it is the margin. */
  REVENUE: '00000000-0000-4000-8000-000000000002',
  /** What upstream charged us (mirrored), net of what it refunded. */
  UPSTREAM_SPEND: '00000000-0000-4000-8000-000000000003',
} as const;

export type SystemAccount = keyof typeof SYSTEM_ACCOUNTS;

export interface Balance {
  available: number;
  held: number;
}

export async function getBalance(db: Db | Tx, tenantId: string): Promise<Balance> {
  const account = await db.account.findUnique({
    where: { tenantId },
    select: { available: true, held: true },
  });
  return account ?? { available: 0, held: 0 };
}
