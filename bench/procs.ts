// Processes of the benches: servers started as `node --import tsx <script>`,
// their CPU time read from /proc (the process and every descendant: a
// WEB_CONCURRENCY cluster's workers count), and the load generator
// (bench/http-load.ts) run against one of them.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface Server {
  name: string;
  /** Where GraphQL (or the bare server's routes) answers: `http://host:port/graphql`. */
  url: string;
  proc: ChildProcess;
  /** User + system CPU milliseconds of the process and its descendants so far. */
  cpuMs(): number;
  stop(): Promise<void>;
}

const TICK_MS = 1000 / 100; // USER_HZ is 100 on Linux

/** utime + stime of one process, in ms. */
function ownCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/** The PostgreSQL backends connected to `database` (a backend's process title names its database), and their CPU ms so far. */
function backends(database: string): Map<number, number> {
  const found = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const title = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (title.startsWith('postgres: ') && title.split(/[\s\0]+/).includes(database)) found.set(Number(entry), ownCpuMs(Number(entry)));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

/**
 * Counts the user + system CPU of the PostgreSQL backends serving `database`
 * from now on, when PostgreSQL runs on this machine (0 otherwise): `ms()` is
 * what each used since, a backend opened since counted whole. A backend that
 * exits in between takes its share with it, so measure work done on pool
 * connections that stay open.
 */
export function postgresCpu(database: string): { ms(): number } {
  const start = backends(database);
  return {
    ms() {
      let ms = 0;
      for (const [pid, cpu] of backends(database)) ms += cpu - (start.get(pid) ?? 0);
      return ms;
    },
  };
}

function treeCpuMs(pid: number): number {
  let ms = 0;
  try {
    ms += ownCpuMs(pid);
    for (const task of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) {
      ms += treeCpuMs(Number(task));
    }
  } catch {
    // the process has gone
  }
  return ms;
}

/**
 * Starts `node --import tsx <args>` and waits for its URL: a `{"url": …}`
 * line on stdout (bench servers) or the gateway's banner on stderr.
 */
export async function startServer(name: string, args: string[], env: Record<string, string>, nodeArgs: string[] = []): Promise<Server> {
  const proc = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const seen = (chunk: Buffer) => {
      output += chunk.toString();
      const found = /"url":"([^"]+)"/.exec(output)?.[1] ?? /GraphQL: +(http\S+)/.exec(output)?.[1];
      if (found) resolve(found.replace('localhost', '127.0.0.1'));
    };
    proc.stdout!.on('data', seen);
    proc.stderr!.on('data', (chunk: Buffer) => {
      seen(chunk);
      if (process.env.BENCH_VERBOSE) process.stderr.write(chunk);
    });
    proc.once('exit', (code) => reject(new Error(`${name} exited with ${code}:\n${output}`)));
  });
  const pid = proc.pid!;
  return {
    name,
    url,
    proc,
    cpuMs: () => treeCpuMs(pid),
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      process.kill(-pid, 'SIGTERM');
      const timer = setTimeout(() => process.kill(-pid, 'SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * The gateway's extra node flags: BENCH_PROFILE=<dir> makes it write a V8 CPU
 * profile there when it stops (bench/profile.ts reads it); BENCH_GATEWAY_NODE_ARGS
 * adds any others (say, V8 heap sizes to compare).
 */
export function profileFlags(): string[] {
  const dir = process.env.BENCH_PROFILE;
  const extra = process.env.BENCH_GATEWAY_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  return [...(dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []), ...extra];
}

/**
 * The gateway as every bench runs it: production settings, silent logs (an
 * access-log line per request is the operator's choice, not the gateway's
 * cost), no demo tenant, limits far above the load, on `databaseUrl`.
 */
export function gatewayEnv(options: { databaseUrl: string; pool: number; adminToken: string; dataDir: string; processes: number }): Record<string, string> {
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: options.databaseUrl,
    DATABASE_POOL_SIZE: String(options.pool),
    ADMIN_TOKEN: options.adminToken,
    SEED_DEMO_TENANT: 'false',
    TENANT_REQUESTS_PER_MINUTE: '10000000',
    DATA_DIR: options.dataDir,
    WEB_CONCURRENCY: String(options.processes),
  };
}

export interface LoadJob {
  url: string;
  headers: Record<string, string>;
  /** Cycled per request over `headers` (e.g. one Authorization per tenant). */
  headerSets?: Array<Record<string, string>>;
  bodies: string[];
  /** How long to send for; ignored when `requests` is given. */
  seconds?: number;
  /** Exactly this many requests instead. */
  requests?: number;
  concurrency: number;
  /** A substring every good answer contains. */
  expect: string;
}

/**
 * Runs bench/http-load.ts against `server`: good answers per second, the
 * server's CPU ms per answer, and how many good answers there were. Any other
 * answer fails the run.
 */
export async function load(server: Server, job: LoadJob): Promise<{ rate: number; cpuMs: number; ok: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/http-load.ts', JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  // The client's own start-up is not the server's time: CPU is read from its first request on.
  const before = server.cpuMs();
  await new Promise((resolve) => child.once('exit', resolve));
  const after = server.cpuMs();
  const result = JSON.parse(out) as { ok: number; bad: number; firstBad?: string; seconds: number };
  if (result.bad > 0) throw new Error(`${server.name}: ${result.bad} bad answers of ${result.ok + result.bad}; first: ${result.firstBad}`);
  return { rate: result.ok / result.seconds, cpuMs: (after - before) / result.ok, ok: result.ok };
}
