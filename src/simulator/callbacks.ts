// Fire-and-forget delivery of completion callbacks. A slow or dead receiver
// must never hold up task completion or status answers, so deliveries run
// detached, with a short timeout and a couple of retries, and stop() cancels them.

const RETRY_DELAYS_MS = [250, 1000];
const ATTEMPT_TIMEOUT_MS = 5_000;

export interface CallbackCounters {
  /** POST attempts made, retries included. */
  sent: number;
  /** Callbacks acknowledged with a 2xx. */
  delivered: number;
  /** Callbacks given up on after every attempt failed. */
  failed: number;
}

export interface CallbackSender {
  send(url: string, body: unknown): void;
  counters(): CallbackCounters;
  /** Resolves when every started delivery has finished (for tests). */
  idle(): Promise<void>;
  stop(): void;
}

export function createCallbackSender(): CallbackSender {
  const counters: CallbackCounters = { sent: 0, delivered: 0, failed: 0 };
  const controllers = new Set<AbortController>();
  // Pending retry waits, so stop() can end them at once instead of leaving them hanging.
  const waits = new Map<NodeJS.Timeout, () => void>();
  const pending = new Set<Promise<void>>();
  let stopped = false;

  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        waits.delete(timer);
        resolve();
      }, ms);
      waits.set(timer, resolve);
    });

  async function attempt(url: string, payload: string): Promise<boolean> {
    const controller = new AbortController();
    controllers.add(controller);
    const timer = setTimeout(() => controller.abort(), ATTEMPT_TIMEOUT_MS);
    try {
      counters.sent++;
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: payload,
        signal: controller.signal,
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.ok;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
      controllers.delete(controller);
    }
  }

  async function deliver(url: string, payload: string): Promise<void> {
    for (let i = 0; i <= RETRY_DELAYS_MS.length && !stopped; i++) {
      if (await attempt(url, payload)) {
        counters.delivered++;
        return;
      }
      const delay = RETRY_DELAYS_MS[i];
      if (delay === undefined || stopped) break;
      await wait(delay);
    }
    counters.failed++;
  }

  return {
    send(url, body) {
      if (stopped) return;
      const p = deliver(url, JSON.stringify(body)).catch(() => undefined);
      pending.add(p);
      void p.finally(() => pending.delete(p));
    },
    counters: () => ({ ...counters }),
    async idle() {
      while (pending.size > 0) await Promise.all([...pending]);
    },
    stop() {
      stopped = true;
      for (const c of controllers) c.abort();
      for (const [timer, resolve] of waits) {
        clearTimeout(timer);
        resolve();
      }
      waits.clear();
    },
  };
}
