import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';

async function serverVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]!.v;
  } finally {
    await client.end();
  }
}

async function query(url: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

/** What initdb prints while it creates a cluster. */
const INITDB = /creating template1 database|Success\. You can now start the database server/;

describe('embedded PostgreSQL', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'gateway-embedded-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('initialises a data directory once, then restarts on it without initialising it again', async () => {
    const dataDir = path.join(dir, 'pg');
    const firstLog: string[] = [];
    const first = await startEmbeddedPostgres({ dataDir, port: 0, ephemeral: true, onLog: (line) => firstLog.push(line) });
    try {
      expect(await serverVersion(first.url)).toMatch(/^\d+/);
      await query(first.url, 'CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)');
    } finally {
      await first.stop();
    }
    expect(firstLog.join('\n')).toMatch(INITDB);

    const secondLog: string[] = [];
    const second = await startEmbeddedPostgres({ dataDir, port: 0, ephemeral: true, onLog: (line) => secondLog.push(line) });
    try {
      // The same cluster, started as it was: no initdb ran, what the first wrote is there.
      expect(secondLog.join('\n')).not.toMatch(INITDB);
      expect(await query(second.url, 'SELECT x FROM kept')).toEqual([{ x: 42 }]);

      // A second start while the server runs shares it instead of failing on the lock.
      const shared = await startEmbeddedPostgres({ dataDir });
      expect(shared.port).toBe(second.port);
      await shared.stop(); // a no-op: the owner stops it
      expect(await serverVersion(second.url)).toMatch(/^\d+/);
    } finally {
      await second.stop();
    }
  });
});
