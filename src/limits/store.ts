// Where shared limits are counted: Redis when REDIS_URL is set, PostgreSQL
// otherwise (the rate_limit table, created by a migration), through
// rate-limiter-flexible's own limiters for each.
import { Redis } from 'ioredis';
import type pg from 'pg';
import { RateLimiterPostgres, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';

export type LimiterStore = { kind: 'redis'; redis: Redis } | { kind: 'postgres'; pool: pg.Pool };

/** The table of rate-limiter-flexible's PostgreSQL limiter (prisma/schema.prisma, RateLimit). */
export const RATE_LIMIT_TABLE = 'rate_limit';

export function createStoreLimiter(
  store: LimiterStore,
  options: { keyPrefix: string; points: number; duration: number; insuranceLimiter: RateLimiterAbstract },
): RateLimiterAbstract {
  if (store.kind === 'redis') return new RateLimiterRedis({ ...options, storeClient: store.redis, rejectIfRedisNotReady: true });
  return new RateLimiterPostgres({
    ...options,
    storeClient: store.pool,
    storeType: 'pool',
    tableName: RATE_LIMIT_TABLE,
    tableCreated: true,
  });
}

/** Opens the store for a process: its own Redis connection, or the database pool it is given. */
export function openLimiterStore(options: { redisUrl: string | null; pool: pg.Pool }): { store: LimiterStore; close(): Promise<void> } {
  if (!options.redisUrl) return { store: { kind: 'postgres', pool: options.pool }, close: async () => {} };
  // No offline queue: while Redis is away, a limit is counted by the
  // insurance limiter in memory rather than waiting on a queue.
  const redis = new Redis(options.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false });
  redis.on('error', () => {
    /* reported by the limiter's insurance path; ioredis reconnects */
  });
  return {
    store: { kind: 'redis', redis },
    async close() {
      redis.disconnect();
    },
  };
}
