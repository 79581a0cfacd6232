// Backoff arithmetic and a bounded FIFO semaphore for the upstream client.
// Kept apart from the client so the timing rules can be read (and tested) alone.

export interface RetryOptions {
  /** Attempts per call, the first included. The deadline usually stops retries first. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Total time one call may take, retries and waits included. */
  deadlineMs: number;
}

export const DEFAULT_RETRY: RetryOptions = {
  maxAttempts: 8,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  deadlineMs: 30_000,
};

/**
 * "Equal jitter": half the exponential step is fixed, half random, so retries
 * from many callers spread out without any of them retrying immediately.
 * `attempt` is the number of the attempt that just failed, from 1.
 */
export function backoffDelay(attempt: number, opts: RetryOptions, random: () => number = Math.random): number {
  const exp = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + random() * (exp / 2));
}

/** `Retry-After` as delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, (date - now) / 1000);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** Caps concurrent upstream requests; waiters are served in arrival order. */
export class Semaphore {
  private active = 0;
  private readonly waiters: Array<{ grant: () => void }> = [];

  constructor(private readonly limit: number) {}

  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiters.length;
  }

  /** Resolves true once a slot is held, false if `timeoutMs` passed first (then no slot is held). */
  acquire(timeoutMs: number): Promise<boolean> {
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve(true);
    }
    return new Promise<boolean>((resolve) => {
      const waiter = {
        grant: () => {
          clearTimeout(timer);
          this.active++;
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(false);
      }, Math.max(0, timeoutMs));
      this.waiters.push(waiter);
    });
  }

  release(): void {
    this.active--;
    const next = this.waiters.shift();
    if (next) next.grant();
  }
}
