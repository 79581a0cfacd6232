// `npm start` stopped by a signal leaves no process behind: not the gateway,
// not the embedded PostgreSQL (and its workers), not tsx's esbuild service.
// The signal goes to the npm process alone, as a process manager or `kill`
// sends it, and to the whole process group, as Ctrl-C in a terminal does
// (then PostgreSQL gets it too, while the gateway is still draining). And if
// the gateway itself is SIGKILLed, its PostgreSQL still stops.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/db/embedded.ts';
import { descendantsOf, isRunning, type ProcessInfo, waitUntilGone } from '../helpers/process-tree.ts';

interface Started {
  npm: ChildProcess;
  /** Everything under npm once the gateway is ready. */
  tree: ProcessInfo[];
  /** The gateway: npm's child. */
  gateway: ProcessInfo;
  logs(): string[];
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

let dataDir: string;
const started: Started[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'gateway-orphans-'));
});
afterAll(async () => {
  // Whatever a failed test left running.
  for (const run of started) {
    for (const proc of [...run.tree].reverse()) if (isRunning(proc)) process.kill(proc.pid, 'SIGKILL');
    if (run.npm.exitCode === null && run.npm.signalCode === null) run.npm.kill('SIGKILL');
  }
  await rm(dataDir, { recursive: true, force: true });
});

async function startNpm(): Promise<Started> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'info', SEED_DEMO_TENANT: 'false' };
  for (const name of ['DATABASE_URL', 'ADMIN_TOKEN', 'REDIS_URL', 'UPSTREAM_API_KEY', 'NODE_ENV', 'VITEST', 'VITEST_WORKER_ID', 'VITEST_POOL_ID']) delete env[name];
  // A process group of its own, like a shell's job: Ctrl-C is a signal to the group.
  const npm = spawn('npm', ['start', '--silent'], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  npm.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    npm.once('exit', (code, signal) => resolve({ code, signal })),
  );
  await new Promise<void>((resolve, reject) => {
    npm.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (/GraphQL:\s+http\S+\/graphql/.test(stderr)) resolve();
    });
    void exited.then(({ code }) => reject(new Error(`npm start exited with ${code}:\n${stderr}\n${stdout}`)));
  });
  const tree = descendantsOf(npm.pid!);
  const gateway = tree.find((p) => p.ppid === npm.pid);
  const run: Started = {
    npm,
    tree,
    gateway: gateway!,
    logs: () => stdout.split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { msg: string }).msg),
    stderr: () => stderr,
    exited,
  };
  started.push(run);
  return run;
}

/** What must be true of a running `npm start` for the test to mean anything. */
function expectFullTree(run: Started): void {
  const describeTree = JSON.stringify(run.tree.map((p) => `${p.pid}<${p.ppid} ${p.comm}: ${p.cmdline}`), null, 1);
  // npm's only child is the gateway's node process itself: no shell, no tsx CLI in between.
  expect(run.tree.filter((p) => p.ppid === run.npm.pid), describeTree).toHaveLength(1);
  expect(run.gateway.cmdline, describeTree).toMatch(/node.* --import tsx src\/main\.ts/);
  // The embedded PostgreSQL runs under it.
  expect(run.tree.some((p) => p.comm === 'postgres' && p.ppid === run.gateway.pid), describeTree).toBe(true);
  expect(existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(true);
}

async function expectNothingLeft(run: Started): Promise<void> {
  const left = await waitUntilGone(run.tree, 20_000);
  expect(left.map((p) => `${p.pid} ${p.comm}: ${p.cmdline}`), run.stderr()).toEqual([]);
  // PostgreSQL shut down cleanly: it removes its lock file last.
  expect(existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
}

function expectCleanShutdown(run: Started): void {
  const messages = run.logs();
  const context = `log messages: ${JSON.stringify(messages)}\nstderr:\n${run.stderr()}`;
  expect(messages.filter((m) => m === 'shutting down'), context).toHaveLength(1);
  expect(messages.at(-1), context).toBe('stopped');
}

describe('npm start leaves no process behind', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} to the npm process alone stops the gateway, its PostgreSQL and everything else it started`, async () => {
      const run = await startNpm();
      expectFullTree(run);
      process.kill(run.npm.pid!, signal);
      // npm forwarded the signal, the gateway stopped cleanly, and npm exits as it did.
      expect(await run.exited).toEqual({ code: 0, signal: null });
      await expectNothingLeft(run);
      expectCleanShutdown(run);
    }, 120_000);
  }

  it('SIGINT to the whole process group (Ctrl-C) stops everything, once, though the gateway hears it twice', async () => {
    const run = await startNpm();
    expectFullTree(run);
    // PostgreSQL gets it as well and shuts down while the gateway drains: the
    // gateway must neither crash on its pool's dead connections nor wait for
    // a server that already exited.
    process.kill(-run.npm.pid!, 'SIGINT');
    await run.exited;
    await expectNothingLeft(run);
    expectCleanShutdown(run);
  }, 120_000);

  it('a SIGKILLed gateway does not leave its PostgreSQL running', async () => {
    const run = await startNpm();
    expectFullTree(run);
    process.kill(run.gateway.pid, 'SIGKILL');
    await run.exited;
    await expectNothingLeft(run);
  }, 120_000);
});
