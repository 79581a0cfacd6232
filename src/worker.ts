import type { Logger } from './logger.ts';

export interface Worker {
  start(): void;
  /** Stops scheduling and waits for the tick in progress, if any. */
  stop(): Promise<void>;
  /** Resolves after the first tick has run (for tests and readiness). */
  ready(): Promise<void>;
  /** Runs a tick as soon as the current one (if any) ends. */
  kick(): void;
}

/**
 * A background loop: runs `tick` every `intervalMs`, one tick at a time, and
 * catches and logs a tick's failure so the loop carries on.
 */
export function createIntervalWorker(name: string, intervalMs: number, logger: Logger, tick: () => Promise<void>): Worker {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | null = null;
  let stopped = true;
  let again = false;
  let markReady: () => void = () => {};
  const readyPromise = new Promise<void>((resolve) => (markReady = resolve));

  const schedule = (delay: number) => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(run, delay);
    timer.unref();
  };

  function run(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = tick()
      .catch((error: unknown) => logger.error({ err: error, worker: name }, 'worker tick failed'))
      .finally(() => {
        running = null;
        markReady();
        const now = again;
        again = false;
        schedule(now ? 0 : intervalMs);
      });
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      schedule(0);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
    ready: () => readyPromise,
    kick() {
      if (stopped) return;
      if (running) again = true;
      else schedule(0);
    },
  };
}
