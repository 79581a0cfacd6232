// WEB_CONCURRENCY=2: `npm start` becomes a cluster primary running two
// gateway workers on one port (src/cluster/). Real processes, real HTTP: the
// one port is answered by two worker processes, /metrics from either is the
// sum over both, the banner is printed once, a SIGKILLed worker is replaced,
// and nothing is left running after SIGTERM to npm, or after a SIGKILL of the
// primary (its workers exit with it, and its embedded PostgreSQL stops).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { descendantsOf, isRunning, type ProcessInfo, waitUntilGone } from '../helpers/process-tree.ts';

describe('WEB_CONCURRENCY', () => {
  it.each(['0', 'abc', '1.5', '-2', '65'])('%j is a configuration error naming it', (value) => {
    expect(() => loadConfig({ WEB_CONCURRENCY: value })).toThrow(ConfigError);
    expect(() => loadConfig({ WEB_CONCURRENCY: value })).toThrow(/WEB_CONCURRENCY/);
  });

  it('is one process unless set', () => {
    expect(loadConfig({}).webConcurrency).toBe(1);
    expect(loadConfig({ WEB_CONCURRENCY: '' }).webConcurrency).toBe(1);
    expect(loadConfig({ WEB_CONCURRENCY: '4' }).webConcurrency).toBe(4);
  });
});

interface LogLine {
  msg: string;
  role?: string;
  worker?: number;
  pid?: number;
}

interface Run {
  npm: ChildProcess;
  dataDir: string;
  /** The cluster primary: npm's child. */
  primary: ProcessInfo;
  url: string;
  stderr(): string;
  logs(): LogLine[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const runs: Run[] = [];
const dataDirs: string[] = [];

afterAll(async () => {
  // Whatever a failed test left running.
  for (const run of runs) {
    for (const proc of descendantsOf(run.npm.pid!).reverse()) process.kill(proc.pid, 'SIGKILL');
    if (run.npm.exitCode === null && run.npm.signalCode === null) run.npm.kill('SIGKILL');
  }
  for (const dir of dataDirs) await rm(dir, { recursive: true, force: true });
});

/** `npm start` with WEB_CONCURRENCY=2 on a random port (PORT=0: the workers share whichever the first one gets). */
async function startCluster(env: Record<string, string>): Promise<Run> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'gateway-cluster-'));
  dataDirs.push(dataDir);
  const full: NodeJS.ProcessEnv = { ...process.env, WEB_CONCURRENCY: '2', PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'info', ...env };
  for (const name of ['ADMIN_TOKEN', 'REDIS_URL', 'UPSTREAM_API_KEY', 'NODE_ENV', 'VITEST', 'VITEST_WORKER_ID', 'VITEST_POOL_ID']) delete full[name];
  if (!env['DATABASE_URL']) delete full['DATABASE_URL'];
  // A process group of its own, as a shell's job.
  const npm = spawn('npm', ['start', '--silent'], { env: full, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  npm.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    npm.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    npm.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const found = /GraphQL:\s+(http\S+)\/graphql/.exec(stderr)?.[1];
      if (found) resolve(found);
    });
    void exited.then(({ code }) => reject(new Error(`npm start exited with ${code}:\n${stderr}\n${stdout}`)));
  });
  const primary = descendantsOf(npm.pid!).find((p) => p.ppid === npm.pid)!;
  const run: Run = {
    npm,
    dataDir,
    primary,
    url,
    stderr: () => stderr,
    logs: () =>
      stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as LogLine];
          } catch {
            return []; // a line still being written
          }
        }),
    exited,
  };
  runs.push(run);
  return run;
}

/** The gateway workers: node processes under the primary running main.ts. */
function workersOf(run: Run): ProcessInfo[] {
  return descendantsOf(run.primary.pid).filter((p) => p.ppid === run.primary.pid && /node.* --import tsx .*src\/main\.ts/.test(p.cmdline));
}

/** One request on a connection of its own, so the primary hands each to the next worker. */
function request(url: string, options: { body?: string; token?: string } = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: options.body ? 'POST' : 'GET',
        agent: false,
        headers: {
          connection: 'close',
          ...(options.body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(options.body) } : {}),
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

async function me(run: Run, token: string): Promise<void> {
  const { status, text } = await request(`${run.url}/graphql`, { body: JSON.stringify({ query: '{ me { id } }' }), token });
  expect(status, text).toBe(200);
  expect(JSON.parse(text)).toMatchObject({ data: { me: { id: expect.any(String) } } });
}

/** `name{labels} value` lines of a metric, as label maps and values. */
function samples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .map((line) => {
      const [, labelText = '', value = ''] = /^[^{ ]+(?:\{(.*)\})? (\S+)$/.exec(line) ?? [];
      const labels = Object.fromEntries([...labelText.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
      return { labels, value: Number(value) };
    });
}

async function scrape(run: Run): Promise<string> {
  const { status, text } = await request(`${run.url}/metrics`);
  expect(status, text).toBe(200);
  return text;
}

function meOperations(metrics: string): number {
  return samples(metrics, 'gateway_graphql_operations_total')
    .filter((s) => s.labels['field'] === 'me' && s.labels['outcome'] === 'ok')
    .reduce((sum, s) => sum + s.value, 0);
}

/** Operations per worker pid: from the per-worker counter and the pid each worker reports. */
function operationsByPid(metrics: string): Map<number, number> {
  const pidOf = new Map(samples(metrics, 'gateway_cluster_worker_start_time_seconds').map((s) => [s.labels['worker'], Number(s.labels['pid'])]));
  return new Map(samples(metrics, 'gateway_cluster_worker_operations_total').map((s) => [pidOf.get(s.labels['worker'])!, s.value]));
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('npm start with WEB_CONCURRENCY=2', () => {
  let database: TestDatabase;
  let run: Run;
  let demoKey: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    run = await startCluster({ DATABASE_URL: database.url });
    demoKey = /Demo tenant key: (\S+)/.exec(run.stderr())![1]!;
  }, 90_000);
  afterAll(async () => {
    await database?.drop();
  });

  it('prints the banner once, from the primary, after both workers are ready', async () => {
    // The banner is written at once; the JSON logs are written asynchronously.
    await until('the primary to log its start', () => run.logs().find((l) => l.role === 'primary' && l.msg === 'gateway started'));
    expect(run.stderr().match(/Grok Imagine gateway ready/g), run.stderr()).toHaveLength(1);
    expect(run.stderr()).toContain('(2 processes)');
    const workers = workersOf(run);
    expect(workers, JSON.stringify(descendantsOf(run.npm.pid!))).toHaveLength(2);
    const logs = run.logs();
    const started = logs.findIndex((l) => l.role === 'primary' && l.msg === 'gateway started');
    const ready = logs.flatMap((l, i) => (l.role === 'primary' && l.msg === 'worker ready' ? [{ pid: l.pid, i }] : []));
    expect(ready.map((r) => r.pid).sort()).toEqual(workers.map((w) => w.pid).sort());
    for (const r of ready) expect(r.i).toBeLessThan(started);
    // The primary made the demo tenant once; the workers did not make theirs.
    expect(run.stderr().match(/Demo tenant key/g)).toHaveLength(1);
  });

  it('answers on one port from two worker processes, and /metrics from any worker is the sum over both', async () => {
    const before = await scrape(run);
    const byPidBefore = operationsByPid(before);
    const workerPids = workersOf(run).map((w) => w.pid);
    expect([...byPidBefore.keys()].sort()).toEqual(workerPids.sort());

    const sent = 20;
    for (let i = 0; i < sent; i++) await me(run, demoKey);

    // Several scrapes, each on a connection of its own (so from both workers): each is the whole cluster's count.
    const scrapes = [await scrape(run), await scrape(run), await scrape(run), await scrape(run)];
    for (const metrics of scrapes) expect(meOperations(metrics) - meOperations(before)).toBe(sent);
    const byPid = operationsByPid(scrapes[0]!);
    const served = workerPids.map((pid) => byPid.get(pid)! - byPidBefore.get(pid)!);
    // Two distinct processes answered, and the summed counter is their sum.
    for (const count of served) expect(count, JSON.stringify(served)).toBeGreaterThan(0);
    expect(served.reduce((a, b) => a + b, 0)).toBe(sent);
  });

  it('replaces a SIGKILLed worker, and serves meanwhile', async () => {
    const [victim, survivor] = workersOf(run);
    process.kill(victim!.pid, 'SIGKILL');
    await until('the primary to see the worker die', () =>
      run.logs().find((l) => l.msg === 'worker exited unexpectedly; replacing it' && l.pid === victim!.pid),
    );
    // The survivor takes every connection until the replacement is up.
    for (let i = 0; i < 5; i++) await me(run, demoKey);

    const replacement = await until('a replacement worker to be ready', () => {
      const ready = run.logs().find((l) => l.msg === 'worker ready' && l.pid !== victim!.pid && l.pid !== survivor!.pid);
      return ready?.pid;
    });
    expect(workersOf(run).map((w) => w.pid).sort()).toEqual([survivor!.pid, replacement].sort());
    for (let i = 0; i < 10; i++) await me(run, demoKey);
    const byPid = operationsByPid(await scrape(run));
    expect([...byPid.keys()].sort()).toEqual([survivor!.pid, replacement].sort());
    expect(byPid.get(replacement)).toBeGreaterThan(0);
  }, 60_000);

  it('SIGTERM to npm stops each worker, then the primary, and leaves nothing running', async () => {
    const tree = descendantsOf(run.npm.pid!);
    const workers = workersOf(run);
    process.kill(run.npm.pid!, 'SIGTERM');
    expect(await run.exited).toEqual({ code: 0, signal: null });
    const left = await waitUntilGone(tree, 20_000);
    expect(left.map((p) => `${p.pid} ${p.comm}: ${p.cmdline}`), run.stderr()).toEqual([]);

    const logs = run.logs();
    const context = JSON.stringify(logs.map((l) => `${l.role ?? l.worker}: ${l.msg}`));
    const primaryLogs = logs.filter((l) => l.role === 'primary');
    expect(primaryLogs.filter((l) => l.msg === 'shutting down'), context).toHaveLength(1);
    expect(primaryLogs.filter((l) => l.msg === 'worker stopped').map((l) => l.pid).sort(), context).toEqual(workers.map((w) => w.pid).sort());
    expect(logs.filter((l) => l.role === undefined && l.msg === 'stopped'), context).toHaveLength(2);
    expect(logs.at(-1), context).toMatchObject({ role: 'primary', msg: 'stopped' });
    expect(run.stderr().match(/Grok Imagine gateway ready/g)).toHaveLength(1);
  }, 60_000);
});

describe('a SIGKILLed cluster primary', () => {
  it('takes its workers with it, and its embedded PostgreSQL stops', async () => {
    const run = await startCluster({ SEED_DEMO_TENANT: 'false' });
    const tree = descendantsOf(run.npm.pid!);
    expect(workersOf(run)).toHaveLength(2);
    expect(tree.some((p) => p.comm === 'postgres' && p.ppid === run.primary.pid)).toBe(true);
    process.kill(run.primary.pid, 'SIGKILL');
    await run.exited;
    // Each worker sees its IPC channel close and exits; the guard stops PostgreSQL.
    const left = await waitUntilGone(tree, 20_000);
    expect(left.map((p) => `${p.pid} ${p.comm}: ${p.cmdline}`), run.stderr()).toEqual([]);
    expect(tree.filter(isRunning)).toEqual([]);
    expect(existsSync(path.join(run.dataDir, 'pg', 'postmaster.pid'))).toBe(false);
  }, 90_000);
});
