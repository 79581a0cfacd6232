import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { auditStep, recordAudit, type AuditActor } from '../audit/log.ts';
import { eventsArray, type Store } from '../db/announce.ts';
import type { Db } from '../db/client.ts';
import { ref, sql, step, withSteps } from '../db/sql.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import type { ApiKey, ApiKeyScope, CreditLimitPeriod } from '../generated/prisma/client.ts';
import type { Authenticator } from './authenticator.ts';
import { displayPrefix, generateSecret, hashSecret } from './secrets.ts';

/** A key's label, for humans. */
export const keyName = z.string().max(200, 'must be at most 200 characters');

/** The longest grace period of a rotation: the old secret works at most this long after. */
export const MAX_GRACE_SECONDS = 30 * 86_400;

export const gracePeriodSeconds = z
  .number()
  .int('must be a whole number of seconds')
  .min(0, 'must be at least 0')
  .max(MAX_GRACE_SECONDS, `must be at most ${MAX_GRACE_SECONDS} (30 days)`);

/** A key's credit limit per period: a whole, positive number of credits (at most a balance's maximum). */
export const creditLimitCredits = z
  .number()
  .int('must be a whole number of credits')
  .min(1, 'must be at least 1')
  .max(2_000_000_000, 'must be at most 2000000000');

export const ALL_SCOPES: readonly ApiKeyScope[] = ['GENERATE', 'READ', 'MANAGE_KEYS', 'WEBHOOKS'];

export interface KeySettings {
  name?: string | null;
  /** Null: never expires. Must be in the future. */
  expiresAt?: Date | null;
  /** Tenant keys only; default every scope. */
  scopes?: readonly ApiKeyScope[] | null;
  /** Tenant keys only: at most this many credits per period through the key (and its rotations). Both or neither. */
  creditLimit?: { credits: number; period: CreditLimitPeriod } | null;
  /**
   * Tenant keys only: an existing credit limit the key spends against too
   * (a key issued by a limited key shares its issuer's limit). Not with `creditLimit`.
   */
  sharedCreditLimitId?: string | null;
}

/**
 * Issues a key for a tenant (or, with no tenant, an admin key). The secret is
 * returned here once and never again: only its hash is stored.
 */
export async function issueApiKey(db: Db, input: { tenantId: string | null } & KeySettings, actor?: AuditActor) {
  const role = input.tenantId ? 'TENANT' : 'ADMIN';
  if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) throw new ValidationError('expiresAt: must be in the future', 'expiresAt');
  const scopes = [...new Set(input.scopes ?? ALL_SCOPES)];
  if (scopes.length === 0) throw new ValidationError('scopes: a key needs at least one scope', 'scopes');
  const secret = generateSecret(role);
  const apiKey = await db.$transaction(async (tx) => {
    if (input.tenantId) {
      const tenant = await tx.tenant.findUnique({ where: { id: input.tenantId }, select: { id: true } });
      if (!tenant) throw new NotFoundError('Tenant not found');
    }
    const limit = input.creditLimit && input.tenantId
      ? await tx.keyCreditLimit.create({
          data: { id: randomUUID(), tenantId: input.tenantId, credits: input.creditLimit.credits, period: input.creditLimit.period },
        })
      : null;
    const key = await tx.apiKey.create({
      data: {
        role,
        tenantId: input.tenantId,
        name: input.name ?? null,
        prefix: displayPrefix(secret),
        hash: hashSecret(secret),
        expiresAt: input.expiresAt ?? null,
        scopes,
        creditLimitId: limit?.id ?? (input.tenantId ? (input.sharedCreditLimitId ?? null) : null),
      },
    });
    if (actor) {
      await recordAudit(tx, {
        actor,
        action: 'apiKey.issue',
        tenantId: key.tenantId,
        details: {
          keyId: key.id,
          prefix: key.prefix,
          role,
          scopes,
          expiresAt: key.expiresAt?.toISOString() ?? null,
          creditLimit: limit ? { credits: limit.credits, period: limit.period } : null,
          creditLimitId: key.creditLimitId,
        },
      });
    }
    return key;
  });
  return { apiKey, secret };
}

/**
 * Replaces a key with a new secret of the same settings (role, tenant, name,
 * scopes, expiry, credit limit: the same limit, so the two count together). The old secret keeps working for `gracePeriodSeconds`
 * (0: it stops at once), then is refused like a revoked one. One statement:
 * the old key's expiry, the new key, the audit row and the announcement that
 * tells every process when the old key ends. A key is rotated at most once
 * (rotate its successor next); a revoked or expired key is not rotated.
 */
export async function rotateApiKey(
  deps: { store: Store; authenticator: Authenticator },
  input: { keyId: string; gracePeriodSeconds: number },
  actor?: AuditActor,
): Promise<{ apiKey: ApiKey; secret: string; oldKeyExpiresAt: Date }> {
  const { db, announcer } = deps.store;
  const ends = new Date(Date.now() + input.gracePeriodSeconds * 1000);
  const old = step(
    'old_key',
    sql`UPDATE api_key SET expires_at = LEAST(COALESCE(api_key.expires_at, ${ends}), ${ends})
        WHERE id = ${input.keyId}::uuid AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
          AND NOT EXISTS (SELECT 1 FROM api_key n WHERE n.rotated_from_id = ${input.keyId}::uuid)
        RETURNING api_key.*`,
  );
  const prefixSource = await db.apiKey.findUnique({ where: { id: input.keyId }, select: { role: true } });
  if (!prefixSource) throw new NotFoundError('API key not found');
  const secret = generateSecret(prefixSource.role);
  const created = step(
    'new_key',
    sql`INSERT INTO api_key (id, role, tenant_id, name, prefix, hash, created_at, expires_at, scopes, rotated_from_id, credit_limit_id)
        SELECT gen_random_uuid(), o.role, o.tenant_id, o.name, ${displayPrefix(secret)}, ${hashSecret(secret)}, now(),
               -- The statement's snapshot: the old key's expiry before this rotation shortened it.
               (SELECT k.expires_at FROM api_key k WHERE k.id = o.id), o.scopes, o.id, o.credit_limit_id
        FROM ${ref(old)} o
        ON CONFLICT (rotated_from_id) DO NOTHING
        RETURNING id`,
  );
  const audit = actor
    ? [
        auditStep('audit', { actor, action: 'apiKey.rotate', tenantId: null, details: { gracePeriodSeconds: input.gracePeriodSeconds } }, old, {
          extra: sql`jsonb_build_object('keyId', r.id, 'prefix', r.prefix, 'newKeyId', (SELECT id FROM ${ref(created)}), 'newPrefix', ${displayPrefix(secret)}::text, 'oldKeyExpiresAt', r.expires_at)`,
          tenantColumn: 'tenant_id',
        }),
      ]
    : [];
  const rows = await db.$queryRaw<{ id: string; expires_at: Date; announced: unknown }[]>(
    withSteps(
      [old, created, ...audit],
      sql`SELECT n.id, o.expires_at,
                 ${announcer.column(eventsArray([sql`jsonb_build_object('type', 'keyExpiry', 'keyId', o.id, 'at', o.expires_at)`]))} AS announced
          FROM ${ref(old)} o, ${ref(created)} n`,
    ),
  );
  const row = rows[0];
  if (!row) {
    const key = await db.apiKey.findUnique({ where: { id: input.keyId }, include: { rotatedTo: { select: { id: true } } } });
    if (!key) throw new NotFoundError('API key not found');
    if (key.rotatedTo) throw new ValidationError('keyId: this key was already rotated; rotate its successor', 'keyId');
    throw new ValidationError('keyId: a revoked or expired key cannot be rotated', 'keyId');
  }
  announcer.committed(row.announced);
  deps.authenticator.expireAt(input.keyId, row.expires_at);
  const apiKey = await db.apiKey.findUniqueOrThrow({ where: { id: row.id } });
  return { apiKey, secret, oldKeyExpiresAt: row.expires_at };
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
        RETURNING id, role::text AS role, tenant_id AS "tenantId", prefix`,
  );
  const audit = actor
    ? [
        auditStep('audit', { actor, action: 'apiKey.revoke', tenantId: null, details: {} }, revoke, {
          extra: sql`jsonb_build_object('keyId', r.id, 'prefix', r.prefix, 'role', r.role)`,
          tenantColumn: 'tenantId',
        }),
      ]
    : [];
  const rows = await db.$queryRaw<{ id: string; announced: unknown }[]>(
    withSteps(
      [revoke, ...audit],
      sql`SELECT k.id, ${announcer.column(eventsArray([sql`jsonb_build_object('type', 'keyRevoked', 'keyId', k.id)`]))} AS announced
          FROM ${ref(revoke)} k`,
    ),
  );
  const revoked = rows[0];
  if (revoked) {
    announcer.committed(revoked.announced);
    deps.authenticator.forget(revoked.id);
  }
  // The key as it is now (every column: the statement returns only its id).
  const key = await db.apiKey.findUnique({ where: { id } });
  if (!key) throw new NotFoundError('API key not found');
  return key;
}
