// The gateways under test: `src/main.ts` in processes of their own, each on a
// fixed port (a restarted one comes back where clients and upstream
// callbacks expect it), SIGKILLed at random and started again.
import { type Child, spawnTs, stopChild } from './procs.ts';

export type SlotState = 'starting' | 'up' | 'down';

export interface Slot {
  index: number;
  port: number;
  url: string;
  state: SlotState;
  child: Child | null;
  starts: number;
  /** Starts that ended before the banner (e.g. the database was restarting). */
  failedStarts: number;
  kills: number;
  killedWhileStarting: number;
  /** Exits nobody asked for, with the process's last lines. */
  crashes: { code: number | null; signal: string | null; tail: string[] }[];
  /** How long each start took to print its banner, in ms. */
  startMs: number[];
}

export interface LogSummary {
  /** pino level ≥ 50 lines, counted by message. */
  errors: Map<string, number>;
  warnings: number;
}

export class GatewayPool {
  readonly slots: Slot[];
  readonly logs: LogSummary = { errors: new Map(), warnings: 0 };
  private closing = false;
  private readonly ready = new Set<() => void>();

  constructor(
    ports: number[],
    private readonly env: Record<string, string>,
    private readonly logDir: string,
    private readonly startTimeoutMs = 90_000,
  ) {
    this.slots = ports.map((port, index) => ({
      index,
      port,
      url: `http://127.0.0.1:${port}/graphql`,
      state: 'down',
      child: null,
      starts: 0,
      failedStarts: 0,
      kills: 0,
      killedWhileStarting: 0,
      crashes: [],
      startMs: [],
    }));
  }

  /** Starts every slot and resolves once all are up. */
  async startAll(): Promise<void> {
    await Promise.all(this.slots.map((slot) => this.start(slot)));
  }

  /** Slots with a start loop running: one loop per slot, however it was asked for. */
  private readonly starting = new Set<Slot>();

  /**
   * Starts one slot; retries a start that fails (the database may be down) until the slot is up.
   * A kill of a slot still starting ends that start, and its loop tries again: a second loop
   * for the slot (from kill()) would double its processes at every such kill.
   */
  async start(slot: Slot): Promise<void> {
    if (this.starting.has(slot)) return;
    this.starting.add(slot);
    try {
      while (!this.closing) {
        try {
          if (await this.startOnce(slot)) return;
        } catch {
          return; // the soak is ending (spawnTs refuses new processes)
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    } finally {
      this.starting.delete(slot);
    }
  }

  private startOnce(slot: Slot): Promise<boolean> {
    slot.state = 'starting';
    slot.starts++;
    const startedAt = Date.now();
    return new Promise<boolean>((resolve) => {
      let settled = false;
      const child = spawnTs(`gateway-${slot.index}`, 'src/main.ts', { ...this.env, PORT: String(slot.port), PUBLIC_URL: `http://127.0.0.1:${slot.port}` }, (line, stream) => {
        if (stream === 'err' && !settled && line.includes('GraphQL:')) {
          settled = true;
          clearTimeout(timer);
          slot.startMs.push(Date.now() - startedAt);
          this.noteUp();
          slot.state = 'up';
          for (const wake of this.ready) wake();
          resolve(true);
        }
        if (stream === 'out') this.countLog(line);
      }, `${this.logDir}/gateway-${slot.index}.log`);
      slot.child = child;
      const timer = setTimeout(() => {
        // Hung at start: kill it and try again (reported as a failed start).
        child.signal('SIGKILL');
      }, this.startTimeoutMs);
      void child.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        if (slot.child === child) {
          slot.child = null;
          slot.state = 'down';
          this.noteDown();
        }
        if (!settled) {
          settled = true;
          if (!child.killedBySoak) slot.failedStarts++;
          resolve(false);
        } else if (!child.killedBySoak && !this.closing) {
          slot.crashes.push({ code, signal, tail: child.tail() });
          void this.start(slot);
        }
      });
    });
  }

  private countLog(line: string): void {
    if (!line.startsWith('{')) return;
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string };
      if ((entry.level ?? 0) >= 50) this.logs.errors.set(entry.msg ?? '?', (this.logs.errors.get(entry.msg ?? '?') ?? 0) + 1);
      else if (entry.level === 40) this.logs.warnings++;
    } catch {
      /* not a log line */
    }
  }

  /** SIGKILLs the slot's process group and starts it again in the background. */
  async kill(slot: Slot): Promise<void> {
    const child = slot.child;
    if (!child) return;
    if (slot.state === 'starting') slot.killedWhileStarting++;
    slot.kills++;
    child.killedBySoak = true;
    child.signal('SIGKILL');
    await child.exited;
    void this.start(slot);
  }

  /** Time with no gateway up, in ms (from the first start on). */
  private noneUpSince: number | null = null;
  noneUpMs = 0;

  private noteUp(): void {
    if (this.noneUpSince !== null) this.noneUpMs += Date.now() - this.noneUpSince;
    this.noneUpSince = null;
  }

  private noteDown(): void {
    if (this.up().length === 0 && this.noneUpSince === null && !this.closing) this.noneUpSince = Date.now();
  }

  up(): Slot[] {
    return this.slots.filter((s) => s.state === 'up');
  }

  /** A gateway URL for a client: an up one at random, else any (the client retries). */
  pickUrl(): string {
    const up = this.up();
    const from = up.length > 0 ? up : this.slots;
    return from[Math.floor(Math.random() * from.length)]!.url;
  }

  /** Resolves once `enough()` holds, checking on every start and at least once a second. */
  async waitUntil(enough: () => boolean): Promise<void> {
    while (!enough() && !this.closing) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.ready.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, 1000);
        this.ready.add(wake);
      });
    }
  }

  /**
   * Stops every gateway: SIGTERM for those up (a clean exit is expected),
   * SIGKILL for any still starting (they have no signal handlers yet).
   */
  async stopAll(graceMs: number): Promise<{ index: number; code: number | null; signal: string | null }[]> {
    this.closing = true;
    return Promise.all(
      this.slots.map(async (slot) => {
        const child = slot.child;
        if (!child) return { index: slot.index, code: null, signal: 'not running' };
        child.killedBySoak = true;
        if (slot.state !== 'up') {
          child.signal('SIGKILL');
          await child.exited;
          return { index: slot.index, code: 0, signal: 'killed while starting' };
        }
        const result = await stopChild(child, graceMs);
        slot.state = 'down';
        return { index: slot.index, ...result };
      }),
    );
  }
}
