import type { Logger } from 'pino';
import type { Db } from '../db/client.ts';
import type { Principal } from './principal.ts';
import { hashSecret, secretsEqual } from './secrets.ts';

interface CacheEntry {
  principal: Principal | null;
  keyId: string | null;
  expiresAt: number;
}

export interface AuthenticatorOptions {
  db: Db;
  logger: Logger;
  adminToken: string;
  /** How long a key lookup is trusted; revocations on this process apply at once. */
  cacheTtlMs: number;
  /** lastUsedAt is written at most this often per key, to keep reads read-only. */
  touchIntervalMs?: number;
}

/**
 * Resolves bearer tokens to principals: the configured admin token, or an API
 * key found by its hash. Lookups are cached briefly; `forget(keyId)` drops a
 * revoked key from the cache so it stops working at once on this process.
 */
export function createAuthenticator(options: AuthenticatorOptions) {
  const cache = new Map<string, CacheEntry>();
  const touched = new Map<string, number>();
  const touchInterval = options.touchIntervalMs ?? 60_000;
  const revokeListeners = new Set<(keyId: string) => void>();
  // Keys this process has been told are revoked: open subscriptions check it.
  const revoked = new Set<string>();

  async function lookup(hash: string): Promise<CacheEntry> {
    const key = await options.db.apiKey.findUnique({
      where: { hash },
      select: { id: true, role: true, tenantId: true, revokedAt: true },
    });
    const expiresAt = Date.now() + options.cacheTtlMs;
    if (!key || key.revokedAt) return { principal: null, keyId: key?.id ?? null, expiresAt };
    const principal: Principal =
      key.role === 'ADMIN' || !key.tenantId
        ? { kind: 'admin', keyId: key.id }
        : { kind: 'tenant', tenantId: key.tenantId, keyId: key.id };
    return { principal, keyId: key.id, expiresAt };
  }

  function touch(keyId: string): void {
    const now = Date.now();
    if ((touched.get(keyId) ?? 0) + touchInterval > now) return;
    touched.set(keyId, now);
    options.db.apiKey
      .update({ where: { id: keyId }, data: { lastUsedAt: new Date(now) } })
      .catch((error: unknown) => options.logger.warn({ err: error, keyId }, 'could not record key use'));
  }

  return {
    /** The principal for a token, or null when the token is unknown or revoked. */
    async authenticate(token: string): Promise<Principal | null> {
      if (secretsEqual(token, options.adminToken)) return { kind: 'admin', keyId: null };
      const hash = hashSecret(token);
      let entry = cache.get(hash);
      if (!entry || entry.expiresAt < Date.now()) {
        entry = await lookup(hash);
        if (cache.size > 50_000) cache.clear();
        cache.set(hash, entry);
      }
      if (entry.principal?.keyId) touch(entry.principal.keyId);
      return entry.principal;
    },
    /** Drops a revoked key from the cache and tells listeners (open sockets). */
    forget(keyId: string): void {
      if (revoked.has(keyId)) return;
      if (revoked.size > 100_000) revoked.clear();
      revoked.add(keyId);
      for (const [hash, entry] of cache) if (entry.keyId === keyId) cache.delete(hash);
      for (const listener of revokeListeners) listener(keyId);
    },
    isRevoked(keyId: string): boolean {
      return revoked.has(keyId);
    },
    onRevoke(listener: (keyId: string) => void): () => void {
      revokeListeners.add(listener);
      return () => revokeListeners.delete(listener);
    },
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;
