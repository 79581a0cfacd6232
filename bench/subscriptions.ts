// `npm run bench:subscriptions`: N concurrent graphql-ws clients on one
// gateway process, each subscribed to its own task, all tasks settled
// together; delivery latency from settle to receipt (p50, p99), connections
// per second and RSS per connection, against a raw `ws` server broadcasting
// the same payload to the same N in the same run.
//
// Three kinds of process per run, as in production: the server being measured
// (bench/subscriptions-server.ts: the gateway, or the raw `ws` server, started
// the same way so their RSS compare), the N clients (bench/ws-clients.ts), and
// this one, which only coordinates and reads /proc. PostgreSQL is DATABASE_URL
// or an embedded one (bench/lib.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { createInterface } from 'node:readline';
import type { ProcessStats } from './jsonl.ts';
import { benchDatabase, fmt, median } from './lib.ts';
import type { ServerSettings } from './subscriptions-server.ts';
import type { ClientSettings } from './ws-clients.ts';

const SIZES = (process.env.BENCH_N ?? '1000,5000,10000').split(',').map((n) => Number(n.trim())).filter((n) => n > 0);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const POOL = Number(process.env.BENCH_POOL ?? 20);
const WINDOW = Number(process.env.BENCH_CONNECT_WINDOW ?? 200);
const WARM = Number(process.env.BENCH_WARM ?? 50);
const KEEPALIVE_MS = Number(process.env.BENCH_WS_KEEPALIVE_MS ?? 12_000);
/** Stop starting new sizes once the run is projected past this (seconds). */
const BUDGET_S = Number(process.env.BENCH_BUDGET_S ?? 300);
/**
 * Memory is read after a full compacting GC (jsonl.ts, fullGc), once RSS has
 * settled. Both servers run with the young generation at its usual full size
 * (16 MiB semi-spaces) from the start: the gateway has grown it by the time
 * it is ready, a quiet raw server grows it while the clients connect, and
 * that one-off growth is not memory per connection. They keep compiled
 * bytecode, and run without V8's memory reducer, which otherwise gives back
 * ~20 MiB of free pages at a moment of its own (seen between two readings in
 * one round of three).
 */
const SERVER_FLAGS = ['--expose-gc', '--min-semi-space-size=16', '--max-semi-space-size=16', '--no-flush-bytecode', '--no-memory-reducer'];
/**
 * glibc keeps memory that native code (PostgreSQL driver, Prisma's engine)
 * freed, in per-thread arenas, and gives it back at moments of its own: in the
 * gateway that moved RSS by ±25 MiB between two readings, as much as 5,000
 * connections weigh. One arena that returns what is freed makes RSS follow
 * what is live; both servers run with it.
 */
const SERVER_ENV = { MALLOC_ARENA_MAX: '1', MALLOC_TRIM_THRESHOLD_: '65536', MALLOC_MMAP_THRESHOLD_: '65536' };
const TARGET_P99_MS = 250;
const TARGET_P99_AT = 5000;
const TARGET_RSS_RATIO = 2;

// ---------------------------------------------------------------- children

type Message = { type: string } & Record<string, unknown>;
const children = new Set<Child>();

/** A child process speaking JSON lines; its RSS and limits come from /proc. */
class Child {
  readonly proc: ChildProcess;
  private readonly inbox: Message[] = [];
  private waiter: (() => void) | null = null;
  private exited = false;
  readonly exit: Promise<number | null>;
  private readonly script: string;

  constructor(script: string, nodeFlags: string[], args: string[], fdLimit: number, options: { stdinFirst?: unknown; env?: Record<string, string> } = {}) {
    // `exec` keeps the pid, so /proc/<pid> is node's; ulimit raises the fd limit if allowed.
    this.proc = spawn(
      'sh',
      ['-c', `ulimit -n ${fdLimit} 2>/dev/null; exec "$0" "$@"`, process.execPath, ...nodeFlags, '--import', 'tsx', script, ...args],
      { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...options.env } },
    );
    this.script = script;
    children.add(this);
    this.exit = new Promise((resolve) =>
      this.proc.once('exit', (code) => {
        this.exited = true;
        children.delete(this);
        this.waiter?.();
        resolve(code);
      }),
    );
    createInterface({ input: this.proc.stdout!, crlfDelay: Infinity }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      this.inbox.push(JSON.parse(line) as Message);
      this.waiter?.();
    });
    if (options.stdinFirst !== undefined) this.send(options.stdinFirst);
  }

  get pid(): number {
    return this.proc.pid!;
  }

  send(command: unknown): void {
    this.proc.stdin!.write(`${JSON.stringify(command)}\n`);
  }

  /** The next message of this type (earlier ones of other types are dropped). */
  async expect<T>(type: string, timeoutMs: number): Promise<Message & T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.inbox.findIndex((m) => m.type === type);
      if (index >= 0) return this.inbox.splice(index, 1)[0] as Message & T;
      if (this.exited) throw new Error(`${this.name()} exited while waiting for "${type}"`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name()}: no "${type}" within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
  }

  async request<T>(command: { cmd: string } & Record<string, unknown>, type: string, timeoutMs = 60_000): Promise<Message & T> {
    this.send(command);
    return this.expect<T>(type, timeoutMs);
  }

  /** Soft limit on open files, as the process has it. */
  fdLimit(): number {
    return procField(`/proc/${this.pid}/limits`, /^Max open files\s+(\d+)/m);
  }

  async stop(command: unknown): Promise<void> {
    if (this.exited) return;
    this.send(command);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 15_000);
    await this.exit;
    clearTimeout(timer);
  }

  private name(): string {
    return `${this.script} (pid ${this.pid})`;
  }
}

function procField(file: string, pattern: RegExp): number {
  const match = pattern.exec(readFileSync(file, 'utf8'));
  if (!match) throw new Error(`${pattern} not in ${file}`);
  return Number(match[1]);
}

/** Busy and total jiffies of the whole machine (all cores), from /proc/stat. */
function machineCpu(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

/** CPU jiffies used so far by every process named `postgres` (all of the server's backends). */
function postgresJiffies(): number {
  let sum = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      if (stat.slice(stat.indexOf('(') + 1, close) !== 'postgres') continue;
      const fields = stat.slice(close + 2).split(' ');
      sum += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone meanwhile
    }
  }
  return sum;
}

interface CpuMark {
  busy: number;
  total: number;
  pg: number;
}

function cpuMark(): CpuMark {
  return { ...machineCpu(), pg: postgresJiffies() };
}

/** Where the machine's CPU went in one phase, each in % of one core. */
interface PhaseCpu {
  server: ProcessStats;
  client: ProcessStats;
  postgres: number;
  /** Everything else on the machine (other users of this machine included). */
  others: number;
  /** Whole machine, % of all cores. */
  machinePct: number;
}

function phaseCpu(from: CpuMark, server: ProcessStats, client: ProcessStats): PhaseCpu {
  const to = cpuMark();
  const total = Math.max(1, to.total - from.total);
  const cores = os.cpus().length;
  const machineCores = ((to.busy - from.busy) / total) * 100 * cores;
  const postgres = ((to.pg - from.pg) / total) * 100 * cores;
  return {
    server,
    client,
    postgres,
    others: Math.max(0, machineCores - postgres - server.cpuPct - client.cpuPct),
    machinePct: machineCores / cores,
  };
}

function killAll(): void {
  for (const child of children) child.proc.kill('SIGKILL');
}
process.once('SIGINT', () => {
  killAll();
  process.exit(130);
});
process.once('exit', killAll);

// ---------------------------------------------------------------- one run

interface RunResult {
  p50: number;
  p99: number;
  max: number;
  /** Latency from the start of the burst (one common t0), p50 / p99. */
  fromStartP50: number;
  fromStartP99: number;
  connPerSec: number;
  /** (RSS after all N - RSS before any) / N, KiB. */
  rssPerConnKiB: number;
  /**
   * Least-squares slope of RSS over the connection count (readings at 0,
   * N/4, N/2, 3N/4, N): the cost of one more connection. RSS here leaves out
   * V8's young generation (see memory() in run()); rssWithYoungSlopeKiB keeps it.
   */
  rssSlopeKiB: number;
  rssWithYoungSlopeKiB: number;
  heapSlopeKiB: number;
  rssBeforeMiB: number;
  delivered: number;
  subscribed: number;
  burstMs: number;
  /** CPU during the last quarter of connecting, and during the burst (settle/broadcast to last receipt). */
  connectCpu: PhaseCpu;
  burstCpu: PhaseCpu;
  /** Deliveries stamped earlier than their send (clock sanity; must be 0). */
  negative: number;
  failures: Record<string, number>;
  sample: { ack: string | null; delivery: string | null };
}

interface SubscribedReply {
  started: number;
  finished: number;
  subscribed: number;
  failures: Record<string, number>;
  stats: ProcessStats;
}
interface GcReply {
  /** How long RSS took to settle after the GC (jsonl.ts, settleRss). */
  settledMs: number;
  /** VmRSS once settled, and the resident part of it that is V8's young generation. */
  rssKiB: number;
  anonKiB: number;
  fileKiB: number;
  youngKiB: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  spaces: Record<string, number>;
}
interface BurstReply {
  t0: number;
  t1: number;
  at: number[];
  done: number;
  stats: ProcessStats;
}
interface DeliveredReply {
  receivedAt: number[];
  received: number;
  sample: { ack: string | null; delivery: string | null };
  failures: Record<string, number>;
  stats: ProcessStats;
}

/** Least-squares slope of y over x. */
function slope(points: [number, number][]): number {
  const mx = points.reduce((a, [x]) => a + x, 0) / points.length;
  const my = points.reduce((a, [, y]) => a + y, 0) / points.length;
  const sxy = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return sxx > 0 ? sxy / sxx : NaN;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

async function run(
  n: number,
  server: ServerSettings,
  client: (ready: Message) => ClientSettings,
  burstCommand: Record<string, unknown>,
): Promise<RunResult> {
  const fds = Math.max(currentFdLimit(), n + WARM + 1024);
  const srv = new Child('bench/subscriptions-server.ts', SERVER_FLAGS, [JSON.stringify(server)], fds, { env: SERVER_ENV });
  let cli: Child | null = null;
  try {
    const ready = await srv.expect<Record<string, unknown>>('ready', 120_000);
    cli = new Child('bench/ws-clients.ts', [], [], fds, { stdinFirst: client(ready) });
    for (const [who, child] of [['server', srv], ['clients', cli]] as const) {
      if (child.fdLimit() < n + WARM + 64) throw new Error(`${who} may open only ${child.fdLimit()} files, ${n} connections need more`);
    }
    await cli.expect('warmed', 60_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Memory is read after a full GC (--expose-gc), with no connection and
    // after each quarter of N; connection rate is over the four quarters.
    const memory = async (connections: number) => {
      const gc = await srv.request<GcReply>({ cmd: 'gc' }, 'gc');
      // The young generation's pages (up to 2 x 16 MiB semi-spaces) are
      // resident or not depending on what ran last, not on the connections,
      // which after a full GC all live in the old generation: left out.
      return { connections, rss: gc.rssKiB - gc.youngKiB, rssWithYoung: gc.rssKiB, heap: gc.heapUsed / 1024, gc };
    };
    const readings = [await memory(0)];
    const phases: (Message & SubscribedReply)[] = [];
    let connectCpu: PhaseCpu | null = null;
    for (let quarter = 1; quarter <= 4; quarter++) {
      const count = Math.floor((n * quarter) / 4) - Math.floor((n * (quarter - 1)) / 4);
      await srv.request({ cmd: 'mark' }, 'marked');
      const cpu = cpuMark();
      cli.send({ cmd: 'connect', count });
      const phase = await cli.expect<SubscribedReply>('subscribed', 60_000 + count * 20);
      phases.push(phase);
      connectCpu = phaseCpu(cpu, (await srv.request<{ stats: ProcessStats }>({ cmd: 'stats' }, 'stats')).stats, phase.stats);
      readings.push(await memory(readings[readings.length - 1]!.connections + phase.subscribed));
    }
    const before = readings[0]!;
    const after = readings[readings.length - 1]!;
    if (process.env.BENCH_VERBOSE) {
      for (const m of readings) {
        console.log(`    [${server.kind} N=${n} at ${m.connections}] rss=${(m.rssWithYoung / 1024).toFixed(1)} MiB (anon ${(m.gc.anonKiB / 1024).toFixed(1)}, file ${(m.gc.fileKiB / 1024).toFixed(1)}, young ${(m.gc.youngKiB / 1024).toFixed(1)}, settled in ${m.gc.settledMs} ms) heapUsed=${(m.heap / 1024).toFixed(1)} heapTotal=${(m.gc.heapTotal / 2 ** 20).toFixed(1)} external=${(m.gc.external / 2 ** 20).toFixed(1)} spaces=${JSON.stringify(Object.fromEntries(Object.entries(m.gc.spaces).map(([k, v]) => [k, +(v / 2 ** 20).toFixed(1)])))}`);
      }
    }
    const subscribed = {
      subscribed: phases.reduce((a, p) => a + p.subscribed, 0),
      seconds: phases.reduce((a, p) => a + (p.finished - p.started) / 1000, 0),
      failures: Object.assign({}, ...phases.map((p) => p.failures)) as Record<string, number>,
    };

    await cli.request({ cmd: 'mark' }, 'marked');
    const cpu = cpuMark();
    const burst = await srv.request<BurstReply>({ cmd: 'burst', ...burstCommand }, 'burst', 60_000 + n * 20);
    let delivered: Message & DeliveredReply;
    try {
      delivered = await cli.expect<DeliveredReply>('delivered', 10_000);
    } catch {
      // Not every delivery arrived: take what did.
      delivered = await cli.request<DeliveredReply>({ cmd: 'report' }, 'delivered');
    }
    const burstCpu = phaseCpu(cpu, burst.stats, delivered.stats);

    const latencies: number[] = [];
    const fromStart: number[] = [];
    let lastReceipt = burst.t0;
    for (let i = 0; i < n; i++) {
      const received = delivered.receivedAt[i]!;
      const published = burst.at[i]!;
      if (received > 0 && published > 0) {
        latencies.push(received - published);
        fromStart.push(received - burst.t0);
        lastReceipt = Math.max(lastReceipt, received);
      }
    }
    latencies.sort((a, b) => a - b);
    fromStart.sort((a, b) => a - b);
    const connected = subscribed.subscribed;
    return {
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: percentile(latencies, 100),
      fromStartP50: percentile(fromStart, 50),
      fromStartP99: percentile(fromStart, 99),
      connPerSec: connected / subscribed.seconds,
      rssPerConnKiB: (after.rss - before.rss) / connected,
      rssSlopeKiB: slope(readings.map((m) => [m.connections, m.rss])),
      rssWithYoungSlopeKiB: slope(readings.map((m) => [m.connections, m.rssWithYoung])),
      heapSlopeKiB: slope(readings.map((m) => [m.connections, m.heap])),
      rssBeforeMiB: before.rss / 1024,
      delivered: latencies.length,
      subscribed: connected,
      burstMs: lastReceipt - burst.t0,
      connectCpu: connectCpu!,
      burstCpu,
      negative: latencies.filter((l) => l < 0).length,
      failures: { ...subscribed.failures, ...delivered.failures },
      sample: delivered.sample,
    };
  } finally {
    await cli?.stop({ cmd: 'close' });
    await srv.stop({ cmd: 'exit' });
  }
}

function currentFdLimit(): number {
  return procField('/proc/self/limits', /^Max open files\s+(\d+)/m);
}

// ---------------------------------------------------------------- main

const started = Date.now();
const fdSoft = currentFdLimit();
const fdHard = procField('/proc/self/limits', /^Max open files\s+\d+\s+(\d+)/m);
const [portLow, portHigh] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number) as [number, number];

console.log(`bench:subscriptions  node ${process.version}  cpus=${os.cpus().length}  mem=${(os.totalmem() / 2 ** 30).toFixed(1)} GiB  ulimit -n: soft ${fdSoft} hard ${fdHard} (children run with ulimit -n max(soft, N+${WARM + 1024}))`);
console.log(`  sizes=${SIZES.join(',')} rounds=${ROUNDS} db pool=${POOL} connect window=${WINDOW} warm-up=${WARM} gateway WS_KEEPALIVE_MS=${KEEPALIVE_MS} ephemeral ports=${portHigh - portLow + 1} load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(`  servers: ${Object.entries(SERVER_ENV).map(([k, v]) => `${k}=${v}`).join(' ')} node ${SERVER_FLAGS.join(' ')}; RSS: VmRSS after a full GC, once freed pages are returned, less V8's young generation`);

const database = await benchDatabase();
const results = new Map<number, { gateway: RunResult; raw: RunResult; rounds: { gateway: RunResult[]; raw: RunResult[] } } | string>();
try {
  for (const n of SIZES) {
    // Skip what this machine cannot do, and say why.
    const elapsed = (Date.now() - started) / 1000;
    const previous = [...results.entries()].filter(([, r]) => typeof r !== 'string');
    const perConn = previous.length > 0 ? elapsed / previous.reduce((a, [k]) => a + k, 0) : 0;
    const projected = perConn * n;
    const why =
      fdHard < n + WARM + 64 && process.getuid?.() !== 0
        ? `ulimit -n hard limit ${fdHard} < ${n + WARM + 64} and not root`
        : n + WARM > portHigh - portLow + 1
          ? `${n + WARM} connections exceed the ${portHigh - portLow + 1} ephemeral ports of one client address`
          : os.freemem() < n * 512 * 1024
            ? `free memory ${(os.freemem() / 2 ** 30).toFixed(1)} GiB < 512 KiB per connection`
            : elapsed + projected > BUDGET_S
              ? `projected ${projected.toFixed(0)} s more would exceed BENCH_BUDGET_S=${BUDGET_S}`
              : null;
    if (why) {
      results.set(n, `skipped: ${why}`);
      console.log(`  N=${fmt(n)} skipped: ${why}`);
      continue;
    }
    const gatewayRuns: RunResult[] = [];
    const rawRuns: RunResult[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const gateway = await run(
        n,
        { kind: 'gateway', n, databaseUrl: database.url, poolSize: POOL, keepAliveMs: KEEPALIVE_MS, maxConnections: n + WARM + 100 },
        (ready) => ({ kind: 'gateway', url: String(ready['url']), n, warm: WARM, window: WINDOW, key: String(ready['key']), ids: ready['ids'] as string[] }),
        {},
      );
      gatewayRuns.push(gateway);
      // The raw server sends what the gateway sent: the same first event and the same delivery, byte for byte.
      const { ack, delivery } = gateway.sample;
      if (!ack || !delivery) throw new Error(`N=${n}: no gateway events to copy (failures: ${JSON.stringify(gateway.failures)})`);
      rawRuns.push(
        await run(
          n,
          { kind: 'raw', n, ack },
          (ready) => ({ kind: 'raw', url: String(ready['url']), n, warm: WARM, window: WINDOW }),
          { payload: delivery },
        ),
      );
      console.log(`  N=${fmt(n)} round ${round + 1}/${ROUNDS} done (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    }
    results.set(n, { gateway: medianResult(gatewayRuns), raw: medianResult(rawRuns), rounds: { gateway: gatewayRuns, raw: rawRuns } });
  }
} finally {
  killAll();
  await database.close();
}

/** Field-wise median of the rounds (numbers only; the rest from the first round). */
function medianResult(runs: RunResult[]): RunResult {
  const first = runs[0]!;
  const out: Record<string, unknown> = { ...first };
  for (const key of Object.keys(first) as (keyof RunResult)[]) {
    if (typeof first[key] === 'number') out[key] = median(runs.map((r) => r[key] as number));
  }
  const medianStats = (pick: (r: RunResult) => ProcessStats): ProcessStats => {
    const stats: Record<string, number> = {};
    for (const field of Object.keys(pick(first)) as (keyof ProcessStats)[]) stats[field] = median(runs.map((r) => pick(r)[field]));
    return stats as unknown as ProcessStats;
  };
  for (const key of ['connectCpu', 'burstCpu'] as const) {
    out[key] = {
      server: medianStats((r) => r[key].server),
      client: medianStats((r) => r[key].client),
      postgres: median(runs.map((r) => r[key].postgres)),
      others: median(runs.map((r) => r[key].others)),
      machinePct: median(runs.map((r) => r[key].machinePct)),
    } satisfies PhaseCpu;
  }
  return out as unknown as RunResult;
}

// ---------------------------------------------------------------- report

const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
const row = (label: string, g: string, r: string, ratio: string) => `  ${label.padEnd(35)}${g.padStart(12)}${r.padStart(12)}${ratio.padStart(14)}`;
const pair = (a: number, b: number, digits = 0) => `${a.toFixed(digits)} | ${b.toFixed(digits)}`;
const cpuLine = (x: RunResult) => {
  const [c, b] = [x.connectCpu, x.burstCpu];
  return (
    `server ${pair(c.server.cpuPct, b.server.cpuPct)} (ELU ${pair(c.server.elu, b.server.elu, 2)}, loop delay p99 ${pair(c.server.loopDelayP99Ms, b.server.loopDelayP99Ms)} ms, ` +
    `max ${pair(c.server.loopDelayMaxMs, b.server.loopDelayMaxMs)} ms); clients ${pair(c.client.cpuPct, b.client.cpuPct)} (ELU ${pair(c.client.elu, b.client.elu, 2)}); ` +
    `PostgreSQL ${pair(c.postgres, b.postgres)}; other processes ${pair(c.others, b.others)}; machine ${pair(c.machinePct, b.machinePct)}% of all cores`
  );
};

console.log('');
console.log('Latency = receipt in the client process - the server-side stamp of that same connection\'s event:');
console.log('  gateway: just before settle(...) is sent (the statement commits the task and its NOTIFY); raw: just before ws.send(payload).');
console.log('  Both stamps are CLOCK_MONOTONIC (process.hrtime), one clock for all processes on this machine.');
for (const [n, result] of results) {
  console.log('');
  if (typeof result === 'string') {
    console.log(`N = ${fmt(n)}: ${result}`);
    continue;
  }
  const { gateway: g, raw: r } = result;
  console.log(`N = ${fmt(n)}   (${ROUNDS > 1 ? `median of ${ROUNDS} rounds` : '1 round'})`);
  console.log(row('', 'gateway', 'raw ws', 'gateway/raw'));
  console.log(row('delivery p50 (ms)', f1(g.p50), f1(r.p50), f2(g.p50 / r.p50)));
  console.log(row('delivery p99 (ms)', f1(g.p99), f1(r.p99), f2(g.p99 / r.p99)));
  console.log(row('delivery max (ms)', f1(g.max), f1(r.max), f2(g.max / r.max)));
  console.log(row('connections/s', fmt(g.connPerSec), fmt(r.connPerSec), f2(g.connPerSec / r.connPerSec)));
  console.log(row('RSS/connection (KiB, slope)', f1(g.rssSlopeKiB), f1(r.rssSlopeKiB), f2(g.rssSlopeKiB / r.rssSlopeKiB)));
  console.log(row('  (RSS all - RSS none) / N (KiB)', f1(g.rssPerConnKiB), f1(r.rssPerConnKiB), f2(g.rssPerConnKiB / r.rssPerConnKiB)));
  console.log(row('  with the young generation (slope)', f1(g.rssWithYoungSlopeKiB), f1(r.rssWithYoungSlopeKiB), f2(g.rssWithYoungSlopeKiB / r.rssWithYoungSlopeKiB)));
  console.log(row('JS heap/connection (KiB, slope)', f1(g.heapSlopeKiB), f1(r.heapSlopeKiB), f2(g.heapSlopeKiB / r.heapSlopeKiB)));
  if (ROUNDS > 1) {
    const each = (runs: RunResult[], pick: (r: RunResult) => number) => runs.map((x) => f1(pick(x))).join(', ');
    console.log(`  each round, RSS/connection: gateway ${each(result.rounds.gateway, (x) => x.rssSlopeKiB)}; raw ${each(result.rounds.raw, (x) => x.rssSlopeKiB)}`);
    console.log(`  each round, JS heap/connection: gateway ${each(result.rounds.gateway, (x) => x.heapSlopeKiB)}; raw ${each(result.rounds.raw, (x) => x.heapSlopeKiB)}`);
  }
  console.log(row('server RSS before clients (MiB)', f1(g.rssBeforeMiB), f1(r.rssBeforeMiB), ''));
  console.log(row('subscribed / delivered', `${g.subscribed}/${g.delivered}`, `${r.subscribed}/${r.delivered}`, ''));
  console.log(row('from burst start p50 / p99 (ms)', `${f1(g.fromStartP50)}/${f1(g.fromStartP99)}`, `${f1(r.fromStartP50)}/${f1(r.fromStartP99)}`, ''));
  console.log(row('burst: start to last receipt (ms)', f1(g.burstMs), f1(r.burstMs), ''));
  console.log(`  settle burst: ${fmt((g.delivered / g.burstCpu.server.wallMs) * 1000)} settles/s (pool ${POOL}); raw broadcast loop ${f1(r.burstCpu.server.wallMs)} ms`);
  console.log('  CPU in % of one core, connecting (last quarter) | burst:');
  console.log(`    gateway run: ${cpuLine(g)}`);
  console.log(`    raw run:     ${cpuLine(r)}`);
  if (g.negative + r.negative > 0) console.log(`  WARNING: ${g.negative + r.negative} deliveries stamped before their send: clocks disagree`);
  const failures = { ...g.failures, ...r.failures };
  if (Object.keys(failures).length > 0) console.log(`  failures: ${JSON.stringify(failures)}`);
  const complete = g.delivered === n && r.delivered === n;
  const rssOk = g.rssSlopeKiB <= TARGET_RSS_RATIO * r.rssSlopeKiB;
  const p99Ok = g.p99 < TARGET_P99_MS;
  const checks = [
    `all ${fmt(n)} delivered: ${complete ? 'PASS' : 'FAIL'}`,
    `RSS/conn <= ${TARGET_RSS_RATIO}x raw: ${rssOk ? 'PASS' : 'FAIL'} (${f2(g.rssSlopeKiB / r.rssSlopeKiB)}x)`,
    n === TARGET_P99_AT ? `p99 < ${TARGET_P99_MS} ms: ${p99Ok ? 'PASS' : 'FAIL'}` : `p99 < ${TARGET_P99_MS} ms (target at ${fmt(TARGET_P99_AT)} only): ${p99Ok ? 'met' : 'not met'}`,
  ];
  console.log(`  ${checks.join('   ')}`);
}
if (!results.has(TARGET_P99_AT)) console.log(`\n(p99 target is defined at N=${fmt(TARGET_P99_AT)}, which was not in BENCH_N)`);
console.log(`\ntotal ${((Date.now() - started) / 1000).toFixed(0)} s`);
