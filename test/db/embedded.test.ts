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

describe('embedded PostgreSQL', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'gateway-embedded-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('initialises a data directory once, then restarts on it quickly', async () => {
    const dataDir = path.join(dir, 'pg');
    const first = await startEmbeddedPostgres({ dataDir, port: 0, ephemeral: true });
    try {
      expect(await serverVersion(first.url)).toMatch(/^\d+/);
    } finally {
      await first.stop();
    }

    const started = performance.now();
    const second = await startEmbeddedPostgres({ dataDir, port: 0, ephemeral: true });
    const elapsed = performance.now() - started;
    try {
      expect(await serverVersion(second.url)).toMatch(/^\d+/);
      expect(elapsed).toBeLessThan(5_000);

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
