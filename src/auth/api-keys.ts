import { z } from 'zod';
import { auditStep, recordAudit, type AuditActor } from '../audit/log.ts';
import { eventsArray, type Store } from '../db/announce.ts';
import type { Db } from '../db/client.ts';
import { ref, sql, step, withSteps } from '../db/sql.ts';
import { NotFoundError } from '../errors.ts';
import type { ApiKey } from '../generated/prisma/client.ts';
import type { Authenticator } from './authenticator.ts';
import { displayPrefix, generateSecret, hashSecret } from './secrets.ts';

/** A key's label, for humans. */
export const keyName = z.string().max(200, 'must be at most 200 characters');

/**
 * Issues a key for a tenant (or, with no tenant, an admin key). The secret is
 * returned here once and never again: only its hash is stored.
 */
export async function issueApiKey(db: Db, input: { tenantId: string | null; name?: string | null }, actor?: AuditActor) {
  const role = input.tenantId ? 'TENANT' : 'ADMIN';
  const secret = generateSecret(role);
  const apiKey = await db.$transaction(async (tx) => {
    if (input.tenantId) {
      const tenant = await tx.tenant.findUnique({ where: { id: input.tenantId }, select: { id: true } });
      if (!tenant) throw new NotFoundError('Tenant not found');
    }
    const key = await tx.apiKey.create({
      data: { role, tenantId: input.tenantId, name: input.name ?? null, prefix: displayPrefix(secret), hash: hashSecret(secret) },
    });
    if (actor) {
      await recordAudit(tx, { actor, action: 'apiKey.issue', tenantId: key.tenantId, details: { keyId: key.id, prefix: key.prefix, role } });
    }
    return key;
  });
  return { apiKey, secret };
}

/**
 * Revokes a key; revoking a revoked key returns it unchanged. The revocation
 * is announced with its statement, so every process drops the key from its
 * cache and closes its sockets; this one does at once.
 */
export async function revokeApiKey(
  deps: { store: Store; authenticator: Authenticator },
  id: string,
  actor?: AuditActor,
): Promise<ApiKey> {
  const { db, announcer } = deps.store;
  const revoke = step(
    'k',
    sql`UPDATE api_key SET revoked_at = now() WHERE id = ${id}::uuid AND revoked_at IS NULL
        RETURNING id, role::text AS role, tenant_id AS "tenantId", name, prefix, hash, created_at AS "createdAt",
                  last_used_at AS "lastUsedAt", revoked_at AS "revokedAt"`,
  );
  const audit = actor
    ? [
        auditStep('audit', { actor, action: 'apiKey.revoke', tenantId: null, details: {} }, revoke, {
          extra: sql`jsonb_build_object('keyId', r.id, 'prefix', r.prefix, 'role', r.role)`,
          tenantColumn: 'tenantId',
        }),
      ]
    : [];
  const rows = await db.$queryRaw<(ApiKey & { announced: unknown })[]>(
    withSteps(
      [revoke, ...audit],
      sql`SELECT k.*, ${announcer.column(eventsArray([sql`jsonb_build_object('type', 'keyRevoked', 'keyId', k.id)`]))} AS announced
          FROM ${ref(revoke)} k`,
    ),
  );
  const revoked = rows[0];
  if (revoked) {
    announcer.committed(revoked.announced);
    deps.authenticator.forget(revoked.id);
    const { announced: _announced, ...key } = revoked;
    return key;
  }
  const key = await db.apiKey.findUnique({ where: { id } });
  if (!key) throw new NotFoundError('API key not found');
  return key;
}
