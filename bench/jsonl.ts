// Plumbing shared by bench:subscriptions and its child processes: JSON lines
// over stdin/stdout, a clock with sub-millisecond resolution that agrees
// across processes, and the process's own CPU and event-loop figures.
import { monitorEventLoopDelay, performance as perf } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
import { createInterface } from 'node:readline';

/**
 * Milliseconds (fractional) of CLOCK_MONOTONIC: one clock for every process on
 * the machine, so stamps taken in two processes subtract exactly.
 * (performance.timeOrigin + performance.now() would not: each process maps its
 * monotonic clock to the wall clock once, at its own start.)
 */
export function wallNow(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** One message to the parent: a JSON object on one line of stdout. */
export function reply(message: { type: string } & Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

/** Commands from the parent, one JSON object per line of stdin; ends with stdin. */
export async function* commands(): AsyncGenerator<{ cmd: string } & Record<string, unknown>> {
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    if (line.trim() === '') continue;
    yield JSON.parse(line) as { cmd: string } & Record<string, unknown>;
  }
}

export interface ProcessStats {
  /** CPU time (user + system) over wall time, in % of one core. */
  cpuPct: number;
  /** Event-loop utilization, 0..1. */
  elu: number;
  /** Event-loop delay (timer lateness), p99 and max, ms. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  wallMs: number;
}

/** CPU, event-loop utilization and event-loop delay since the last mark(). */
export function processMeter(): { mark(): void; read(): ProcessStats } {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  let cpu = process.cpuUsage();
  let elu = perf.eventLoopUtilization();
  let started = performance.now();
  return {
    mark() {
      cpu = process.cpuUsage();
      elu = perf.eventLoopUtilization();
      started = performance.now();
      delay.reset();
    },
    read() {
      const used = process.cpuUsage(cpu);
      const wallMs = performance.now() - started;
      return {
        cpuPct: ((used.user + used.system) / 1000 / wallMs) * 100,
        elu: perf.eventLoopUtilization(elu).utilization,
        loopDelayP99Ms: delay.count > 0 ? delay.percentile(99) / 1e6 : 0,
        loopDelayMaxMs: delay.count > 0 ? delay.max / 1e6 : 0,
        wallMs,
      };
    },
  };
}

/**
 * Collects garbage twice (needs --expose-gc) so heap and RSS readings are
 * comparable, compacting the old generation: without compaction, objects
 * allocated later first fill the holes that earlier garbage left in pages
 * that are already resident, and RSS does not move for them. (The gateway
 * leaves tens of MiB of such holes while it sets up; the raw server almost
 * none.) Compaction is turned on for these collections only.
 */
export function fullGc(): void {
  v8.setFlagsFromString('--compact-on-every-full-gc');
  globalThis.gc?.();
  globalThis.gc?.();
  v8.setFlagsFromString('--no-compact-on-every-full-gc');
}

/** This process's VmRSS (or another line of /proc/self/status: RssAnon, RssFile), in KiB. */
export function ownRssKiB(field: 'VmRSS' | 'RssAnon' | 'RssFile' = 'VmRSS'): number {
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN);
}

/**
 * After a full GC, V8 returns the pages it freed to the system in the
 * background, over a few seconds: an RSS read at once still counts them, by
 * tens of MiB after a busy phase. Waits until RSS has moved less than
 * 256 KiB over the last second (at most `maxMs`); returns the wait.
 */
export async function settleRss(maxMs = 8000): Promise<number> {
  const started = Date.now();
  const readings: number[] = [ownRssKiB()];
  while (Date.now() - started < maxMs) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    readings.push(ownRssKiB());
    if (readings.length > 5 && Math.abs(readings.at(-1)! - readings.at(-6)!) < 256) break;
  }
  return Date.now() - started;
}
