// Once per `vitest run`: a PostgreSQL server (DATABASE_URL's, or an embedded
// one in a temp dir), and a template database with every migration applied,
// built fresh each run. Test files clone it (test/helpers/db.ts): a clone is a
// file copy on the server, far faster than migrating a database per file.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { applyMigrations } from '../src/db/migrate.ts';
import { withDatabase } from '../src/db/migration-adapter.ts';

export interface TestDatabaseContext {
  /** Superuser URL on the test server: creates and drops the test databases. */
  adminUrl: string;
  /** The migrated template; nobody connects to it, so it can always be cloned. */
  template: string;
  /** Name prefix of this run's test databases, all dropped at teardown. */
  prefix: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    testDatabase: TestDatabaseContext;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let adminUrl = process.env.DATABASE_URL || undefined;
  let cleanup = async (): Promise<void> => {};
  if (!adminUrl) {
    await sweepStaleClusters();
    const dir = await mkdtemp(path.join(os.tmpdir(), TEMP_PREFIX));
    const embedded = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), port: 0, ephemeral: true });
    adminUrl = embedded.url;
    cleanup = async () => {
      await embedded.stop();
      await rm(dir, { recursive: true, force: true });
    };
  }
  const run = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const context: TestDatabaseContext = { adminUrl, template: `gw_tpl_${run}`, prefix: `gw_test_${run}_` };
  try {
    await admin(adminUrl, `CREATE DATABASE "${context.template}"`);
    await applyMigrations(withDatabase(adminUrl, context.template));
    // Clones fail while anyone is connected to the source; make that impossible.
    await admin(adminUrl, `ALTER DATABASE "${context.template}" WITH ALLOW_CONNECTIONS false`);
  } catch (error) {
    await cleanup();
    throw error;
  }
  project.provide('testDatabase', context);

  return async () => {
    const url = adminUrl;
    try {
      const leftovers = await admin(
        url,
        `SELECT datname FROM pg_database WHERE datname = $1 OR starts_with(datname, $2)`,
        [context.template, context.prefix],
      );
      for (const { datname } of leftovers) await admin(url, `DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    } finally {
      await cleanup();
    }
  };
}

const TEMP_PREFIX = 'gateway-test-pg-';

// A run killed before its teardown leaves its (stopped) cluster in tmp. Remove
// those: old enough not to be a run still initialising, and no live server.
async function sweepStaleClusters(): Promise<void> {
  const names = (await readdir(os.tmpdir())).filter((name) => name.startsWith(TEMP_PREFIX));
  for (const name of names) {
    const dir = path.join(os.tmpdir(), name);
    const { mtimeMs } = await stat(dir).catch(() => ({ mtimeMs: Date.now() }));
    if (Date.now() - mtimeMs < 10 * 60_000) continue;
    const pid = Number((await readFile(path.join(dir, 'pg', 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[0]);
    if (pid > 0 && isAlive(pid)) continue;
    await rm(dir, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function admin(url: string, sql: string, params: unknown[] = []): Promise<Array<{ datname: string }>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ datname: string }>(sql, params)).rows;
  } finally {
    await client.end();
  }
}
