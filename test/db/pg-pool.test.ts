// The process's pool survives connections that die under it (a PostgreSQL
// restart ends every session with 57P01): a checked-out client that loses
// its connection must not end the process with an unheard 'error' event (the
// soak found gateways crashing so), its holder sees a rejected query, and the
// pool serves the next query on a fresh connection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CharAsTextPool } from '../../src/db/pg-pool.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let database: TestDatabase;
let pool: CharAsTextPool;
const uncaught: unknown[] = [];
const onUncaught = (error: unknown) => uncaught.push(error);

beforeAll(async () => {
  database = await createTestDatabase();
  pool = new CharAsTextPool({ connectionString: database.url, max: 4 });
  pool.on('error', () => undefined); // idle clients: the adapter listens so in the gateway
  process.on('uncaughtException', onUncaught);
});
afterAll(async () => {
  process.off('uncaughtException', onUncaught);
  await pool?.end();
  await database?.drop();
});

async function terminate(pid: number): Promise<void> {
  await database.prisma.$queryRawUnsafe('SELECT pg_terminate_backend($1)', pid);
}

describe('CharAsTextPool when PostgreSQL ends its sessions', () => {
  it('a checked-out client, idle between statements, loses its connection: no unheard error; the pool goes on', async () => {
    const client = await pool.connect();
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    expect(client.listenerCount('error')).toBeGreaterThan(0);
    await terminate(rows[0]!.pid);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await expect(client.query('SELECT 1')).rejects.toThrow();
    client.release();
    expect(uncaught).toEqual([]);
    const again = await pool.query<{ one: number }>('SELECT 1 AS one');
    expect(again.rows).toEqual([{ one: 1 }]);
  });

  it('a statement in flight when the session ends (pool.query, as the rate limiter uses it) rejects and nothing else happens', async () => {
    const pids = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    // Its rejection is taken as it happens, so none goes unhandled while the session is ended.
    const running = pool.query('SELECT pg_sleep(5)').then(
      () => null,
      (error: unknown) => error,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Every session of this pool ends, the running one among them.
    await database.prisma.$queryRawUnsafe(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query = 'SELECT pg_sleep(5)'`,
    );
    expect(await running).toMatchObject({ code: '57P01' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(uncaught).toEqual([]);
    expect(pids.rows).toHaveLength(1);
    expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });
});
