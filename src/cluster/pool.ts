// The primary's workers (WEB_CONCURRENCY): N slots, each running one gateway
// worker process; a worker that dies unexpectedly is replaced after a short
// backoff, and a slot whose workers keep dying makes the primary give up
// rather than fork forever.
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../logger.ts';

/** Worker → primary, once its gateway is up: the URL it serves. */
export const READY = 'gateway:cluster:ready';
export interface ReadyMessage {
  type: typeof READY;
  url: string;
}

/** A slot whose workers died more than this many times within the window stops being replaced. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;
/** Backoff before a replacement: 200 ms, doubling with each recent death of the slot, at most 5 s. */
const BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 5000;

interface Slot {
  index: number;
  worker: Worker | null;
  ready: boolean;
  /** When its recent workers died (within RESTART_WINDOW_MS). */
  deaths: number[];
  restart: NodeJS.Timeout | null;
}

export class WorkerPool {
  readonly #slots: Slot[];
  readonly #env: Record<string, string>;
  readonly #logger: Logger;
  readonly #onGiveUp: (error: Error) => void;
  #stopping = false;
  #started = false;
  #startup: { resolve(url: string): void; reject(error: Error): void } | null = null;
  #url = '';
  /** A worker that exited with a failure code while the pool was stopping. */
  failedStop = false;

  /**
   * `env` goes to every worker on top of this process's environment.
   * `onGiveUp`: the pool stopped replacing a slot whose workers keep dying
   * (after the start; during it, `start()` rejects instead).
   */
  constructor(size: number, env: Record<string, string>, logger: Logger, onGiveUp: (error: Error) => void) {
    this.#slots = Array.from({ length: size }, (_, index) => ({ index, worker: null, ready: false, deaths: [], restart: null }));
    this.#env = env;
    this.#logger = logger;
    this.#onGiveUp = onGiveUp;
  }

  /** Forks every worker; resolves with the URL they serve once each has been ready once. */
  start(): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      this.#startup = { resolve, reject };
      for (const slot of this.#slots) this.#fork(slot);
    });
  }

  /** Workers whose gateway is up: the ones /metrics sums. */
  readyWorkers(): Worker[] {
    return this.#slots.flatMap((slot) => (slot.ready && slot.worker ? [slot.worker] : []));
  }

  /**
   * No more replacements; SIGTERM to every worker, which shuts down as a lone
   * gateway does (requests in flight finish); resolves once all have exited.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#startup?.reject(new Error('stopped before every worker was ready'));
    this.#startup = null;
    const exits: Promise<void>[] = [];
    for (const slot of this.#slots) {
      if (slot.restart) clearTimeout(slot.restart);
      const { worker } = slot;
      if (!worker || worker.isDead()) continue;
      exits.push(new Promise<void>((resolve) => worker.once('exit', () => resolve())));
      worker.process.kill('SIGTERM');
    }
    await Promise.all(exits);
  }

  /** SIGKILL to every worker (the primary's watchdog, when a shutdown hangs). */
  kill(): void {
    for (const slot of this.#slots) if (slot.worker && !slot.worker.isDead()) slot.worker.process.kill('SIGKILL');
  }

  #fork(slot: Slot): void {
    slot.restart = null;
    slot.ready = false;
    const worker = cluster.fork(this.#env);
    slot.worker = worker;
    // A send to a worker that just died reports here; it must not crash the primary.
    worker.on('error', (error) => this.#logger.warn({ err: error, worker: worker.id }, 'worker channel error'));
    worker.on('message', (message: unknown) => {
      if (!isReady(message) || this.#stopping) return;
      slot.ready = true;
      this.#logger.info({ worker: worker.id, pid: worker.process.pid, url: message.url }, 'worker ready');
      this.#url ||= message.url;
      if (!this.#started && this.#slots.every((s) => s.ready)) {
        this.#started = true;
        this.#startup?.resolve(this.#url);
        this.#startup = null;
      }
    });
    worker.on('exit', (code, signal) => this.#exited(slot, worker, code, signal));
  }

  #exited(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (slot.worker === worker) {
      slot.worker = null;
      slot.ready = false;
    }
    const facts = { worker: worker.id, pid: worker.process.pid, code, signal };
    if (this.#stopping) {
      if (code !== 0) {
        this.failedStop = true;
        this.#logger.error(facts, 'worker did not stop cleanly');
      } else this.#logger.info(facts, 'worker stopped');
      return;
    }
    const now = Date.now();
    slot.deaths = [...slot.deaths.filter((at) => now - at < RESTART_WINDOW_MS), now];
    if (slot.deaths.length > MAX_RESTARTS) {
      const error = new Error(`gateway workers died ${slot.deaths.length} times within ${RESTART_WINDOW_MS / 1000} s; not replacing them again`);
      this.#logger.fatal({ ...facts, slot: slot.index }, error.message);
      this.#giveUp(error);
      return;
    }
    const delayMs = Math.min(BACKOFF_MS * 2 ** (slot.deaths.length - 1), MAX_BACKOFF_MS);
    this.#logger.error({ ...facts, slot: slot.index, restartInMs: delayMs }, 'worker exited unexpectedly; replacing it');
    slot.restart = setTimeout(() => {
      if (!this.#stopping) this.#fork(slot);
    }, delayMs);
  }

  #giveUp(error: Error): void {
    if (this.#startup) {
      this.#startup.reject(error);
      this.#startup = null;
    } else this.#onGiveUp(error);
  }
}

function isReady(message: unknown): message is ReadyMessage {
  return typeof message === 'object' && message !== null && (message as ReadyMessage).type === READY;
}
