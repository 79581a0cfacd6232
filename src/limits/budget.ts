// A per-key budget of points per window, shared by every gateway process:
// rate-limiter-flexible counts the window in Redis (REDIS_URL) or in
// PostgreSQL (table rate_limit), and this class puts an in-memory front on
// it, so a key within its budget costs no round trip per request.
//
// The front leases points: when a key's local points run out, it takes a
// block of them from the shared counter in one atomic increment and spends
// them locally until the window ends. The counter never counts more points
// than were granted, so the budget is never exceeded across processes; at
// worst a block leased by one process and not spent there is refused to
// another until the window ends (README, "Limits"). rate-limiter-flexible
// has no such front (its in-memory options only remember keys already over
// the limit), which is why this part is written here.
import { RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Logger } from '../logger.ts';
import { createStoreLimiter, type LimiterStore } from './store.ts';

export type Verdict = { ok: true } | { ok: false; retryAfterMs: number };

export interface BudgetOptions {
  /** Key prefix in the store; one per budget. */
  name: string;
  /** Points per window per key. */
  points: number;
  windowSeconds: number;
  store: LimiterStore;
  logger: Logger;
  /** Points taken from the shared counter at once. Default: a twentieth of the budget. */
  block?: number;
}

interface Lease {
  /** Points this process may still spend in this window. */
  left: number;
  /** When the shared window ends (this process's clock). */
  until: number;
}

const OK: Verdict = { ok: true };

export class Budget {
  readonly points: number;
  private readonly limiter: RateLimiterAbstract;
  private readonly block: number;
  private readonly leases = new Map<string, Lease>();
  /** Keys refused until then: refused again without asking the store. */
  private readonly refusedUntil = new Map<string, number>();
  /** One refill in flight per key; concurrent takers wait for it. */
  private readonly refills = new Map<string, Promise<void>>();
  private sweepAt = 0;

  constructor(private readonly options: BudgetOptions) {
    this.points = options.points;
    this.block = Math.max(1, options.block ?? Math.floor(options.points / 20));
    // Should the store fail, each process counts on its own until it is back.
    const insurance = new RateLimiterMemory({ points: options.points, duration: options.windowSeconds });
    this.limiter = createStoreLimiter(options.store, {
      keyPrefix: options.name,
      points: options.points,
      duration: options.windowSeconds,
      insuranceLimiter: insurance,
    });
  }

  /** Spends `points` of `key`'s budget, or says how long until there are enough again. */
  async take(key: string, points = 1): Promise<Verdict> {
    for (;;) {
      const now = Date.now();
      this.sweep(now);
      const lease = this.leases.get(key);
      if (lease && lease.until > now && lease.left >= points) {
        lease.left -= points;
        return OK;
      }
      const refused = this.refusedUntil.get(key);
      if (refused !== undefined && refused > now) return { ok: false, retryAfterMs: refused - now };
      const pending = this.refills.get(key);
      if (pending) {
        await pending;
        continue;
      }
      const refill = this.refill(key, points).finally(() => this.refills.delete(key));
      this.refills.set(key, refill);
      await refill;
    }
  }

  /** How long `key` is still refused (0: not refused), known without asking the store. */
  refusedFor(key: string): number {
    const until = this.refusedUntil.get(key);
    return until === undefined ? 0 : Math.max(0, until - Date.now());
  }

  /** Returns points taken for work that did not happen (an idempotent replay found late). */
  giveBack(key: string, points = 1): void {
    const lease = this.leases.get(key);
    if (lease && lease.until > Date.now()) lease.left += points;
  }

  /** Takes a block from the shared counter; what it grants goes to the key's lease. */
  private async refill(key: string, points: number): Promise<void> {
    const asked = Math.max(points, this.block);
    const lease = this.leases.get(key);
    const carried = lease && lease.until > Date.now() ? lease.left : 0;
    let res: RateLimiterRes;
    let granted: number;
    try {
      res = await this.limiter.consume(key, asked);
      granted = asked;
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) {
        this.options.logger.error({ err: error, budget: this.options.name }, 'rate limit store failed');
        throw error;
      }
      // Over the budget with this block; the points below the budget are still ours:
      // the counter stood at consumedPoints - asked before this increment.
      res = error;
      granted = Math.max(0, Math.min(asked, this.points - (res.consumedPoints - asked)));
    }
    const until = Date.now() + Math.max(res.msBeforeNext, 0);
    this.leases.set(key, { left: carried + granted, until });
    if (carried + granted < points) this.refusedUntil.set(key, until);
  }

  /** Forgets leases and refusals of windows that ended. */
  private sweep(now: number): void {
    if (now < this.sweepAt) return;
    this.sweepAt = now + 10_000;
    for (const [key, lease] of this.leases) if (lease.until <= now) this.leases.delete(key);
    for (const [key, until] of this.refusedUntil) if (until <= now) this.refusedUntil.delete(key);
  }
}
