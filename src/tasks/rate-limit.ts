import { RateLimitedError } from '../errors.ts';

/**
 * Generation requests per minute per tenant, as a token bucket: a burst of
 * up to `perMinute`, refilled continuously. Kept in this process's memory, so
 * with N gateway processes a tenant may reach N times the rate (documented).
 */
export function createRateLimiter(perMinute: number, now: () => number = Date.now) {
  const ratePerMs = perMinute / 60_000;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(tenantId: string): void {
      const t = now();
      const bucket = buckets.get(tenantId) ?? { tokens: perMinute, at: t };
      bucket.tokens = Math.min(perMinute, bucket.tokens + (t - bucket.at) * ratePerMs);
      bucket.at = t;
      if (bucket.tokens < 1) {
        buckets.set(tenantId, bucket);
        const waitSeconds = Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerMs / 1000));
        throw new RateLimitedError(
          `Rate limit: at most ${perMinute} generation requests per minute; retry in ${waitSeconds} s`,
          waitSeconds,
        );
      }
      bucket.tokens -= 1;
      buckets.set(tenantId, bucket);
      if (buckets.size > 100_000) buckets.clear();
    },
    /** Gives back a token taken for a request that turned out to be an idempotent replay. */
    refund(tenantId: string): void {
      const bucket = buckets.get(tenantId);
      if (bucket) bucket.tokens = Math.min(perMinute, bucket.tokens + 1);
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
