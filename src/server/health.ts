import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '../db/client.ts';

export interface Readiness {
  ready: boolean;
  database: 'ok' | 'unreachable';
  pendingMigrations: string[];
}

/** Migration folders shipped with this build, in Prisma's layout. */
export async function shippedMigrations(dir = path.resolve('prisma/migrations')): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
}

/** Ready when the database answers and every shipped migration has finished. */
export async function checkReadiness(db: Db, shipped: string[]): Promise<Readiness> {
  try {
    const rows = await db.$queryRaw<{ migration_name: string }[]>`
      SELECT migration_name FROM _prisma_migrations
      WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`;
    const applied = new Set(rows.map((r) => r.migration_name));
    const pendingMigrations = shipped.filter((name) => !applied.has(name));
    return { ready: pendingMigrations.length === 0, database: 'ok', pendingMigrations };
  } catch {
    return { ready: false, database: 'unreachable', pendingMigrations: [] };
  }
}
