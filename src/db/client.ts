// The Prisma client over adapter-pg: the one database driver of the app
// (DESIGN.md, "The stack"; the event bus LISTENs with Postgres.js).
import { createHash } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import { type Prisma, PrismaClient } from '../generated/prisma/client.ts';
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

/** A statement's name: its text's digest, so one text is one prepared statement per connection. */
function statementName(query: { sql: string }): string {
  return `gw_${createHash('sha1').update(query.sql).digest('base64url')}`;
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
  return { prisma: new PrismaClient({ adapter }), pool };
}
