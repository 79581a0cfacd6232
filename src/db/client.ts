// The Prisma client over adapter-pg: the one database driver of the app
// (DESIGN.md, "The stack"; the event bus LISTENs with Postgres.js).
import { createHash } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import { type Prisma, PrismaClient } from '../generated/prisma/client.ts';
import type { Sql } from './sql.ts';
import type pg from 'pg';
import { CharAsTextPool } from './pg-pool.ts';

export type Db = PrismaClient;
/** The client inside `db.$transaction(async (tx) => ...)`: services accept `Db | Tx`. */
export type Tx = Prisma.TransactionClient;

export interface CreatePrismaOptions {
  /** Pool size (pg's default is 10). */
  max?: number;
  /**
   * Named prepared statements (default true): each connection parses and
   * plans a statement once, then only binds and executes it. The ledger's
   * statements are large; planning them on every call cost more database
   * CPU than running them. Turn off behind a pooler that cannot keep them
   * (PgBouncer in transaction mode before 1.21).
   */
  preparedStatements?: boolean;
}

/** Names already made, by text: the same few hundred texts run over and over. */
const names = new Map<string, string>();
const MAX_NAMES = 5000;

/** A statement's name: its text's digest, so one text is one prepared statement per connection. */
function statementName(query: { sql: string }): string {
  let name = names.get(query.sql);
  if (name === undefined) {
    name = `gw_${createHash('sha1').update(query.sql).digest('base64url')}`;
    // Texts are the code's, not the clients' (values are parameters), so this stays small; a cap all the same.
    if (names.size >= MAX_NAMES) names.clear();
    names.set(query.sql, name);
  }
  return name;
}

/** The pool under each client this module made, and whether it prepares statements (see `query`). */
const pools = new WeakMap<PrismaClient, { pool: pg.Pool; prepared: boolean }>();

/**
 * Runs one composed statement (db/sql.ts) straight on the client's pool, as
 * a named prepared statement: the ledger's and the lifecycle's statements,
 * and the hot reads. The Prisma client in between cost 0.13–0.2 ms of CPU
 * per statement against 0.04 ms for the pool's own named statement (measured
 * at 10 in flight; README, "Benchmarks"), and these run on every request.
 * Rows come as node-postgres gives them: int4 as numbers, timestamptz as
 * Dates, arrays as arrays, int8 and numeric as strings. A refusal is pg's
 * DatabaseError, which db/errors.ts reads as it reads Prisma's.
 */
export async function query<T>(db: Db, statement: Sql): Promise<T[]> {
  const entry = pools.get(db);
  if (!entry) throw new Error('query(): not a client made by createDatabaseClient (a transaction client has no pool of its own)');
  const text = statement.text;
  const config = entry.prepared ? { name: statementName({ sql: text }), text, values: statement.values } : { text, values: statement.values };
  const result = await entry.pool.query(config);
  return result.rows as T[];
}

export function createPrisma(databaseUrl: string, opts: CreatePrismaOptions = {}): PrismaClient {
  return createDatabaseClient(databaseUrl, opts).prisma;
}

/**
 * The Prisma client and the pool under it: the pool also serves the few
 * statements that go through node-postgres directly (src/limits/: the
 * rate-limiter-flexible store and live slot leases), so the process has one
 * pool. `prisma.$disconnect()` ends it.
 */
export function createDatabaseClient(databaseUrl: string, opts: CreatePrismaOptions = {}): { prisma: PrismaClient; pool: pg.Pool } {
  // Our pool (rather than a connection string) so that raw catalog queries with
  // "char" columns deserialize too.
  const pool = new CharAsTextPool({ connectionString: databaseUrl, max: opts.max ?? 10 });
  const adapter = new PrismaPg(pool, {
    disposeExternalPool: true,
    ...((opts.preparedStatements ?? true) ? { statementNameGenerator: statementName } : {}),
  });
  const prisma = new PrismaClient({ adapter });
  pools.set(prisma, { pool, prepared: opts.preparedStatements ?? true });
  return { prisma, pool };
}
