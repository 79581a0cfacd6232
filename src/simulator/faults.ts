// Injected failures and the per-key rate limit. Faults are queued by tests
// (`failNext`) and consumed by the next matching API requests in order.

export type FaultMode = '500' | '429' | 'timeout' | 'malformed' | 'drop';
export type FaultEndpoint = 'generate' | 'status' | 'any';

export interface FaultOptions {
  /** Which API endpoint the fault applies to (default 'any'). */
  endpoint?: FaultEndpoint;
  /**
   * Process the request first (create and charge the task, or answer the
   * poll), then fail the response: the "upstream acted but we never heard"
   * case. Default false: the request is failed without being acted on.
   */
  commit?: boolean;
  /** For '429': the Retry-After seconds to send; omitted means no header. */
  retryAfterSeconds?: number;
  /** For 'malformed': the exact body to send (default: truncated JSON). */
  body?: string;
  /** For 'timeout': how long to hold the request before closing it (default 60000 ms, or until stop()). */
  holdMs?: number;
}

export interface Fault {
  mode: FaultMode;
  options: FaultOptions;
}

interface QueuedFault extends Fault {
  remaining: number;
}

export function createFaultQueue() {
  const queue: QueuedFault[] = [];
  return {
    add(n: number, mode: FaultMode, options: FaultOptions = {}): void {
      if (!Number.isInteger(n) || n < 0) throw new Error(`failNext: n must be a non-negative integer, got ${n}`);
      if (n > 0) queue.push({ mode, options, remaining: n });
    },
    /** Takes the first queued fault that matches the endpoint, if any. */
    take(endpoint: 'generate' | 'status'): Fault | undefined {
      const index = queue.findIndex((f) => (f.options.endpoint ?? 'any') === 'any' || f.options.endpoint === endpoint);
      const fault = queue[index];
      if (!fault) return undefined;
      if (--fault.remaining <= 0) queue.splice(index, 1);
      return { mode: fault.mode, options: fault.options };
    },
    clear(): void {
      queue.length = 0;
    },
    pending: (): number => queue.reduce((sum, f) => sum + f.remaining, 0),
  };
}

/**
 * A token bucket per API key: `rate` requests per second sustained, bursts up
 * to `rate`. Returns undefined when allowed, else the seconds to wait.
 */
export function createRateLimiter(now: () => number = Date.now) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    check(key: string, rate: number): number | undefined {
      if (rate <= 0) return undefined;
      const t = now();
      const capacity = Math.max(1, rate);
      const bucket = buckets.get(key) ?? { tokens: capacity, at: t };
      bucket.tokens = Math.min(capacity, bucket.tokens + ((t - bucket.at) / 1000) * rate);
      bucket.at = t;
      buckets.set(key, bucket);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return undefined;
      }
      return Math.max(1, Math.ceil((1 - bucket.tokens) / rate));
    },
    reset(): void {
      buckets.clear();
    },
  };
}
