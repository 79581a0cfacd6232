import type { Db } from '../db/client.ts';
import { ValidationError } from '../errors.ts';

export function assertTenantName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length < 1 || trimmed.length > 200) {
    throw new ValidationError('name must be 1 to 200 characters', 'name');
  }
  return trimmed;
}

/** Creates a tenant together with its ledger account, in one transaction. */
export async function createTenant(db: Db, input: { name: string }) {
  const name = assertTenantName(input.name);
  return db.$transaction(async (tx) => {
    const tenant = await tx.tenant.create({ data: { name } });
    await tx.account.create({ data: { kind: 'TENANT', tenantId: tenant.id } });
    return tenant;
  });
}
