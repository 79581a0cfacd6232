import type { Db } from '../db/client.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import { displayPrefix, generateSecret, hashSecret } from './secrets.ts';

function assertKeyName(name: string | null | undefined): string | null {
  if (name == null) return null;
  if (name.length > 200) throw new ValidationError('name must be at most 200 characters', 'name');
  return name;
}

/**
 * Issues a key for a tenant (or, with no tenant, an admin key). The secret is
 * returned here once and never again: only its hash is stored.
 */
export async function issueApiKey(
  db: Db,
  input: { tenantId: string | null; name?: string | null },
) {
  const name = assertKeyName(input.name);
  const role = input.tenantId ? 'TENANT' : 'ADMIN';
  if (input.tenantId) {
    const tenant = await db.tenant.findUnique({ where: { id: input.tenantId }, select: { id: true } });
    if (!tenant) throw new NotFoundError('Tenant not found');
  }
  const secret = generateSecret(role);
  const apiKey = await db.apiKey.create({
    data: { role, tenantId: input.tenantId, name, prefix: displayPrefix(secret), hash: hashSecret(secret) },
  });
  return { apiKey, secret };
}

/** Revokes a key; revoking a revoked key returns it unchanged. */
export async function revokeApiKey(db: Db, id: string) {
  const key = await db.apiKey.findUnique({ where: { id } });
  if (!key) throw new NotFoundError('API key not found');
  if (key.revokedAt) return key;
  return db.apiKey.update({ where: { id }, data: { revokedAt: new Date() } });
}
