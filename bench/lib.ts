// Shared plumbing for the benchmarks: a PostgreSQL (DATABASE_URL or an
// embedded one), a fresh migrated database, medians, and a concurrent loop.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { applyMigrations } from '../src/db/migrate.ts';
import { withDatabase } from '../src/db/migration-adapter.ts';

export async function benchDatabase(): Promise<{ url: string; close(): Promise<void> }> {
  let adminUrl = process.env.DATABASE_URL;
  let stop = async () => {};
  if (!adminUrl) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gateway-bench-pg-'));
    const embedded = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), port: 0 });
    adminUrl = embedded.url;
    stop = async () => {
      await embedded.stop();
      await rm(dir, { recursive: true, force: true });
    };
  }
  const fresh = await freshDatabase(adminUrl);
  return {
    url: fresh.url,
    async close() {
      await fresh.close();
      await stop();
    },
  };
}

/** A fresh database on the PostgreSQL of `url` (any of its databases), migrated; `close` drops it. */
export async function freshDatabase(url: string): Promise<{ url: string; close(): Promise<void> }> {
  const name = `gw_bench_${randomBytes(4).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(sql);
    await client.end();
  };
  await admin(`CREATE DATABASE "${name}"`);
  const fresh = withDatabase(url, name);
  await applyMigrations(fresh);
  return { url: fresh, close: () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}

/** Runs `op` `total` times with `concurrency` in flight; returns ops per second. */
export async function runConcurrent(total: number, concurrency: number, op: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await op(next++);
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function fmt(n: number): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: 0 });
}
