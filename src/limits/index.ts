// The limits every gateway process shares with the others (README,
// "Limits"): per-tenant budgets of operations and of generations, failed
// authentications per client address, and live connections and subscriptions
// per tenant. Budgets are counted in Redis or PostgreSQL (store.ts) behind an
// in-memory front (budget.ts); live slots are leased from PostgreSQL
// (live-slots.ts).
import type pg from 'pg';
import type { Logger } from '../logger.ts';
import { Budget } from './budget.ts';
import { LiveSlots } from './live-slots.ts';
import { openLimiterStore } from './store.ts';

export { Budget, type Verdict } from './budget.ts';
export { LiveSlots, type SlotKind } from './live-slots.ts';

export interface LimitSettings {
  requestsPerMinute: number;
  generationsPerMinute: number;
  authFailuresPerMinute: number;
  maxConnectionsPerTenant: number;
  maxSubscriptionsPerTenant: number;
}

export interface Limits {
  /** Operations per tenant per minute, every transport. */
  requests: Budget;
  /** Generation requests per tenant per minute. */
  generations: Budget;
  /** Failed authentications per client address per minute. */
  authFailures: Budget;
  live: LiveSlots;
  close(): Promise<void>;
}

export function createLimits(options: { settings: LimitSettings; pool: pg.Pool; redisUrl: string | null; logger: Logger }): Limits {
  const { settings, logger } = options;
  const { store, close } = openLimiterStore({ redisUrl: options.redisUrl, pool: options.pool });
  const budget = (name: string, points: number) => new Budget({ name, points, windowSeconds: 60, store, logger });
  const live = new LiveSlots({
    pool: options.pool,
    logger,
    caps: { connection: settings.maxConnectionsPerTenant, subscription: settings.maxSubscriptionsPerTenant },
  });
  live.start();
  return {
    requests: budget('requests', settings.requestsPerMinute),
    generations: budget('generations', settings.generationsPerMinute),
    authFailures: budget('auth-failures', settings.authFailuresPerMinute),
    live,
    async close() {
      await live.close();
      await close();
    },
  };
}
