import { z } from 'zod';
import type { Db } from '../db/client.ts';
import { openTenantAccount } from '../ledger/accounts.ts';

/** A tenant's name, as admins give it: trimmed, 1 to 200 characters. */
export const tenantName = z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters');

/** Creates a tenant together with its ledger account, in one transaction. */
export async function createTenant(db: Db, input: { name: string }) {
  return db.$transaction(async (tx) => {
    const tenant = await tx.tenant.create({ data: { name: input.name } });
    await openTenantAccount(tx, tenant.id);
    return tenant;
  });
}
