// The Prisma client over adapter-pg: the one database driver of the app
// (DESIGN.md, "The stack").
import { PrismaPg } from '@prisma/adapter-pg';
import { type Prisma, PrismaClient } from '../generated/prisma/client.ts';
import { CharAsTextPool } from './pg-pool.ts';

export type Db = PrismaClient;
/** The client inside `db.$transaction(async (tx) => ...)`: services accept `Db | Tx`. */
export type Tx = Prisma.TransactionClient;

export interface CreatePrismaOptions {
  /** Pool size (pg's default is 10). */
  max?: number;
}

export function createPrisma(databaseUrl: string, opts: CreatePrismaOptions = {}): PrismaClient {
  // Our pool (rather than a connection string) so that raw catalog queries with
  // "char" columns deserialize too; `$disconnect()` ends it.
  const pool = new CharAsTextPool({ connectionString: databaseUrl, max: opts.max ?? 10 });
  const adapter = new PrismaPg(pool, { disposeExternalPool: true });
  return new PrismaClient({ adapter });
}
