import type { Logger } from 'pino';
import type { Db } from '../db/client.ts';
import { RateLimitedError } from '../errors.ts';
import type { Budget } from '../limits/index.ts';
import type { Principal } from './principal.ts';
import { hashesEqual, hashSecret } from './secrets.ts';

const ADMIN: Principal = Object.freeze({ kind: 'admin', keyId: null, keyPrefix: null });

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
  /** How long an unknown or revoked token is remembered as such (no lookup meanwhile). */
  negativeCacheMs: number;
  /** Failed authentications per client address (shared by every process). */
  failures: Budget;
  /** lastUsedAt is written at most this often per key, to keep reads read-only. */
  touchIntervalMs?: number;
}

/** Unknown tokens remembered at once, at most; the oldest are forgotten first. */
const NEGATIVE_CACHE_SIZE = 10_000;

/**
 * Resolves bearer tokens to principals: the configured admin token, or an API
 * key found by its hash. Lookups are cached briefly; `forget(keyId)` drops a
 * revoked key from the cache so it stops working at once on this process.
 *
 * A token that fails costs its client address one point of a shared budget
 * (AUTH_FAILURES_PER_MINUTE); an address out of points is refused before any
 * lookup, so guessing keys costs the database nothing. Unknown tokens are
 * remembered for a short while and cost no lookup when repeated.
 */
export function createAuthenticator(options: AuthenticatorOptions) {
  const cache = new Map<string, CacheEntry>();
  const adminHash = hashSecret(options.adminToken);
  /** Token hash → until when it is known to be bad. */
  const unknown = new Map<string, number>();
  const touched = new Map<string, number>();
  const touchInterval = options.touchIntervalMs ?? 60_000;
  const revokeListeners = new Set<(keyId: string) => void>();
  // Keys this process has been told are revoked: open subscriptions check it.
  const revoked = new Set<string>();
  // When keys seen by this process expire: open subscriptions end then, as on revocation.
  const expiries = new Map<string, number>();

  async function lookup(hash: string): Promise<CacheEntry> {
    const key = await options.db.apiKey.findUnique({
      where: { hash },
      select: { id: true, role: true, tenantId: true, prefix: true, revokedAt: true, expiresAt: true, scopes: true },
    });
    const now = Date.now();
    const expired = key?.expiresAt != null && key.expiresAt.getTime() <= now;
    if (!key || key.revokedAt || expired) return { principal: null, keyId: key?.id ?? null, expiresAt: now + options.negativeCacheMs };
    // Trusted for the cache's time, and never past the key's own expiry.
    const expiresAt = Math.min(now + options.cacheTtlMs, key.expiresAt?.getTime() ?? Infinity);
    if (key.expiresAt) expiries.set(key.id, key.expiresAt.getTime());
    const principal: Principal =
      key.role === 'ADMIN' || !key.tenantId
        ? { kind: 'admin', keyId: key.id, keyPrefix: key.prefix }
        : { kind: 'tenant', tenantId: key.tenantId, keyId: key.id, keyPrefix: key.prefix, scopes: key.scopes };
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

  /** Counts a failure against the address; throws once the address is out of attempts. */
  async function failed(address: string): Promise<null> {
    const verdict = await options.failures.take(address);
    if (!verdict.ok) throw refused(verdict.retryAfterMs);
    return null;
  }

  return {
    /**
     * The principal for a token, or null when the token is unknown or
     * revoked. Throws RateLimitedError when `address` has failed too often.
     */
    async authenticate(token: string, address: string): Promise<Principal | null> {
      // One digest per request: compared in constant time with the admin token's, then looked up as a key's.
      const hash = hashSecret(token);
      if (hashesEqual(hash, adminHash)) return ADMIN;
      const now = Date.now();
      let entry = cache.get(hash);
      if (entry && entry.expiresAt > now && entry.principal) {
        if (entry.principal.keyId) touch(entry.principal.keyId);
        return entry.principal;
      }
      if ((unknown.get(hash) ?? 0) >= now) return failed(address);
      const wait = options.failures.refusedFor(address);
      if (wait > 0) throw refused(wait);
      entry = await lookup(hash);
      if (!entry.principal) {
        unknown.delete(hash);
        unknown.set(hash, entry.expiresAt);
        if (unknown.size > NEGATIVE_CACHE_SIZE) unknown.delete(unknown.keys().next().value!);
        return failed(address);
      }
      if (cache.size > 50_000) cache.clear();
      cache.set(hash, entry);
      if (entry.principal.keyId) touch(entry.principal.keyId);
      return entry.principal;
    },
    /** Drops a revoked key from the cache and tells listeners (open sockets). */
    forget(keyId: string): void {
      if (revoked.has(keyId)) return;
      if (revoked.size > 100_000) revoked.clear();
      revoked.add(keyId);
      for (const [hash, entry] of cache) {
        if (entry.keyId !== keyId) continue;
        cache.delete(hash);
        unknown.set(hash, Date.now() + options.negativeCacheMs);
      }
      for (const listener of revokeListeners) listener(keyId);
    },
    /** Revoked (as this process was told), or past its expiry. */
    isRevoked(keyId: string): boolean {
      if (revoked.has(keyId)) return true;
      const expiry = expiries.get(keyId);
      return expiry !== undefined && expiry <= Date.now();
    },
    /**
     * A key's expiry changed (a rotation set its grace period): the cache
     * trusts it no longer than that, and at that moment it is forgotten as a
     * revoked key is (its open sockets close).
     */
    expireAt(keyId: string, at: Date): void {
      if (expiries.size > 100_000) expiries.clear();
      expiries.set(keyId, at.getTime());
      for (const entry of cache.values()) if (entry.keyId === keyId) entry.expiresAt = Math.min(entry.expiresAt, at.getTime());
      const wait = at.getTime() - Date.now();
      if (wait <= 0) this.forget(keyId);
      // setTimeout holds at most ~24.8 days; a longer grace ends at the first event after it (isRevoked).
      else if (wait < 2 ** 31 - 1) setTimeout(() => this.forget(keyId), wait).unref();
    },
    onRevoke(listener: (keyId: string) => void): () => void {
      revokeListeners.add(listener);
      return () => revokeListeners.delete(listener);
    },
  };
}

function refused(retryAfterMs: number): RateLimitedError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new RateLimitedError(`Too many failed authentications from this address; retry in ${seconds} s`, seconds);
}

export type Authenticator = ReturnType<typeof createAuthenticator>;
