import path from 'node:path';
import type { Config } from '../config.ts';
import type pg from 'pg';
import { createDatabaseClient, type Db } from './client.ts';
import { startEmbeddedPostgres } from './embedded.ts';
import { applyMigrations } from './migrate.ts';

export interface OpenDatabase {
  prisma: Db;
  /** The pool under `prisma`, for node-postgres statements (src/limits/). */
  pool: pg.Pool;
  url: string;
  embedded: boolean;
  /** Migration folders applied by this call (empty when already up to date). */
  applied: string[];
  close(): Promise<void>;
}

/**
 * Connects to DATABASE_URL, or starts the embedded PostgreSQL under
 * DATA_DIR/pg when it is unset; optionally applies pending migrations first.
 */
export async function openDatabase(config: Config, options: { migrate?: boolean } = {}): Promise<OpenDatabase> {
  const embedded = config.databaseUrl
    ? null
    : await startEmbeddedPostgres({ dataDir: path.join(config.dataDir, 'pg') });
  const url = config.databaseUrl ?? embedded!.url;
  try {
    const applied = options.migrate ? await applyMigrations(url) : [];
    const { prisma, pool } = createDatabaseClient(url, { max: config.databasePoolSize, preparedStatements: config.databasePreparedStatements });
    return {
      prisma,
      pool,
      url,
      embedded: embedded !== null,
      applied,
      async close() {
        await prisma.$disconnect();
        await embedded?.stop();
      },
    };
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
}
