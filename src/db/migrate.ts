// Migrations in Prisma's own layout (prisma/migrations/<ts>_<name>/migration.sql),
// applied and diffed by Prisma's WebAssembly schema engine, so a machine with
// the native engines can run `prisma migrate deploy` on the same folder.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { LOCK_CONTENT, LOCK_FILE, MIGRATION_FILE, NO_FILTERS, readMigrationsList, withSchemaEngine } from './schema-engine.ts';

export const MIGRATIONS_DIR = 'prisma/migrations';
export const SCHEMA_PATH = 'prisma/schema.prisma';

/**
 * Applies every migration not yet applied, recording each in `_prisma_migrations`
 * exactly as `prisma migrate deploy` does. Idempotent. Returns the names applied now.
 */
export async function applyMigrations(databaseUrl: string, migrationsDir = MIGRATIONS_DIR): Promise<string[]> {
  const migrationsList = await readMigrationsList(migrationsDir);
  const { appliedMigrationNames } = await withSchemaEngine(databaseUrl, (engine) =>
    engine.applyMigrations({ migrationsList, filters: NO_FILTERS }),
  );
  return appliedMigrationNames;
}

/**
 * The SQL that would take a database built from the migrations folder to the
 * Prisma schema; '' when they agree. The migrations are replayed in a throwaway
 * shadow database created next to `databaseUrl`. Both the drift check and the
 * new-migration generator.
 */
export async function diffMigrationsToSchema(
  databaseUrl: string,
  { migrationsDir = MIGRATIONS_DIR, schemaPath = SCHEMA_PATH }: { migrationsDir?: string; schemaPath?: string } = {},
): Promise<string> {
  const listed = await readMigrationsList(migrationsDir);
  // A folder without migrations yet has no lock file either; the engine wants one.
  const migrationsList = { ...listed, lockfile: { ...listed.lockfile, content: listed.lockfile.content ?? LOCK_CONTENT } };
  const schema = { path: path.resolve(schemaPath), content: await readFile(schemaPath, 'utf8') };
  const { exitCode, stdout } = await withSchemaEngine(databaseUrl, (engine) =>
    engine.diff({
      from: { tag: 'migrations', ...migrationsList },
      to: { tag: 'schemaDatamodel', files: [schema] },
      script: true,
      exitCode: true,
      filters: NO_FILTERS,
    }),
  );
  // exitCode 2: non-empty diff; 0: in sync (stdout then holds an "empty migration" comment).
  return exitCode === 2 ? (stdout ?? '') : '';
}

/**
 * Writes `<migrationsDir>/<YYYYMMDDHHMMSS>_<name>/migration.sql` (UTC timestamp,
 * as Prisma names them) and the `migration_lock.toml` Prisma keeps beside them.
 * Returns the folder's path.
 */
export async function createMigrationFolder(name: string, sql: string, migrationsDir = MIGRATIONS_DIR): Promise<string> {
  const slug = name
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 200);
  if (!slug) throw new Error(`invalid migration name: ${JSON.stringify(name)}`);
  const timestamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const folder = path.join(migrationsDir, `${timestamp}_${slug}`);
  await mkdir(migrationsDir, { recursive: true });
  await mkdir(folder); // fails if it exists: never overwrite a migration
  await writeFile(path.join(folder, MIGRATION_FILE), sql.endsWith('\n') ? sql : `${sql}\n`, 'utf8');
  await writeFile(path.join(migrationsDir, LOCK_FILE), LOCK_CONTENT, 'utf8');
  return folder;
}

export interface MigrationStatus {
  /** Folders whose migration finished. */
  applied: string[];
  /** Folders never started. */
  pending: string[];
  /** Folders whose last attempt failed (started, not finished, not rolled back). */
  failed: string[];
}

/**
 * Compares the migrations folder with `_prisma_migrations`, by plain SQL (no
 * engine, no shadow database): cheap enough for a readiness probe.
 */
export async function migrationStatus(databaseUrl: string, migrationsDir = MIGRATIONS_DIR): Promise<MigrationStatus> {
  const { migrationDirectories } = await readMigrationsList(migrationsDir);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  let rows: Array<{ migration_name: string; finished: boolean }> = [];
  try {
    const table = await client.query<{ t: string | null }>(`SELECT to_regclass('_prisma_migrations')::text AS t`);
    if (table.rows[0]?.t) {
      const result = await client.query<{ migration_name: string; finished: boolean }>(
        `SELECT migration_name, finished_at IS NOT NULL AS finished
           FROM _prisma_migrations WHERE rolled_back_at IS NULL`,
      );
      rows = result.rows;
    }
  } finally {
    await client.end();
  }
  const finished = new Set(rows.filter((row) => row.finished).map((row) => row.migration_name));
  const started = new Set(rows.map((row) => row.migration_name));
  const status: MigrationStatus = { applied: [], pending: [], failed: [] };
  for (const { path: name } of migrationDirectories) {
    if (finished.has(name)) status.applied.push(name);
    else if (started.has(name)) status.failed.push(name);
    else status.pending.push(name);
  }
  return status;
}

/** Migration folders not (successfully) applied yet: empty when the database is ready. */
export async function pendingMigrations(databaseUrl: string, migrationsDir = MIGRATIONS_DIR): Promise<string[]> {
  const { pending, failed } = await migrationStatus(databaseUrl, migrationsDir);
  return [...failed, ...pending].sort();
}
