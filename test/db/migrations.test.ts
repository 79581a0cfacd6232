import { createHash } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  MIGRATIONS_DIR,
  SCHEMA_PATH,
  applyMigrations,
  diffMigrationsToSchema,
  migrationStatus,
  pendingMigrations,
} from '../../src/db/migrate.ts';
import { createEmptyDatabase, createTestDatabase, type TestDatabase } from '../helpers/db.ts';

const { adminUrl } = inject('testDatabase');

async function migrationFolders(): Promise<string[]> {
  const entries = await readdir(MIGRATIONS_DIR, { withFileTypes: true });
  return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
}

describe('drift check', () => {
  it('prisma/migrations builds exactly prisma/schema.prisma', async () => {
    const missing = await diffMigrationsToSchema(adminUrl);
    // Non-empty: run `npm run db:migration -- <name>` and commit the result.
    expect(missing).toBe('');
  });

  it('reports the SQL still missing when the schema moves ahead', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gateway-drift-'));
    try {
      const schema = (await readFile(SCHEMA_PATH, 'utf8')).replace(
        /model Tenant \{\n/,
        'model Tenant {\n  nickname String?\n',
      );
      await writeFile(path.join(dir, 'schema.prisma'), schema);
      const missing = await diffMigrationsToSchema(adminUrl, { schemaPath: path.join(dir, 'schema.prisma') });
      expect(missing).toMatch(/ALTER TABLE "tenant" ADD COLUMN\s+"nickname" TEXT/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports the whole schema for a migrations folder without migrations', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gateway-drift-'));
    try {
      await cp(path.join(MIGRATIONS_DIR, 'migration_lock.toml'), path.join(dir, 'migration_lock.toml'));
      expect(await diffMigrationsToSchema(adminUrl, { migrationsDir: dir })).toMatch(/CREATE TABLE "tenant"/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('applyMigrations', () => {
  let database: Awaited<ReturnType<typeof createEmptyDatabase>>;
  beforeAll(async () => {
    database = await createEmptyDatabase();
  });
  afterAll(() => database.drop());

  it('applies every folder once, records it like prisma migrate deploy, and is idempotent', async () => {
    const folders = await migrationFolders();
    expect(await pendingMigrations(database.url)).toEqual(folders);

    expect(await applyMigrations(database.url)).toEqual(folders);
    expect(await applyMigrations(database.url)).toEqual([]);

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{
        migration_name: string;
        checksum: string;
        finished: boolean;
        applied_steps_count: number;
        rolled_back: boolean;
      }>(
        `SELECT migration_name, checksum, finished_at IS NOT NULL AS finished,
                applied_steps_count, rolled_back_at IS NOT NULL AS rolled_back
           FROM _prisma_migrations ORDER BY migration_name`,
      );
      expect(rows.map((row) => row.migration_name)).toEqual(folders);
      for (const row of rows) {
        const sql = await readFile(path.join(MIGRATIONS_DIR, row.migration_name, 'migration.sql'));
        // Prisma's checksum: SHA-256 of the file's bytes, hex.
        expect(row.checksum).toBe(createHash('sha256').update(sql).digest('hex'));
        expect(row).toMatchObject({ finished: true, applied_steps_count: 1, rolled_back: false });
      }
    } finally {
      await client.end();
    }
    expect(await migrationStatus(database.url)).toEqual({ applied: folders, pending: [], failed: [] });
  });
});

describe('ledger CHECK constraints', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('exist in the migrated database', async () => {
    const rows = await db.prisma.$queryRaw<Array<{ name: string }>>`
      SELECT conname::text AS name FROM pg_constraint
       WHERE contype = 'c' AND connamespace = 'public'::regnamespace ORDER BY 1`;
    expect(rows.map((row) => row.name)).toEqual([
      'account_held_nonneg',
      'account_in_flight_nonneg',
      'account_low_balance_threshold_nonneg',
      'account_tenant_available_nonneg',
      'account_tenant_has_tenant',
      'hold_amount_positive',
      // A key's credit limit (src/tasks/key-limits.ts).
      'key_credit_limit_credits_positive',
      'key_credit_limit_spent_in_range',
      // Not the ledger's: a process's lease of live slots (src/limits/live-slots.ts).
      'live_slot_slots_check',
      'price_credits_nonneg',
      'task_credits_nonneg',
      // Not the ledger's: a correction is of a recorded mismatch (src/tasks/reconcile.ts).
      'task_reconciliation_corrected_after_mismatch',
      // Not the ledger's: a suspended tenant says why (src/tenants/service.ts).
      'tenant_suspension_check',
      'transfer_amount_positive',
      'transfer_distinct_accounts',
    ]);
  });

  it('reject a negative available balance on a tenant account', async () => {
    const [tenant] = await db.prisma.$queryRaw<Array<{ id: string }>>`
      INSERT INTO tenant (id, name) VALUES (gen_random_uuid(), 'check-test') RETURNING id::text`;
    await db.prisma.$executeRaw`
      INSERT INTO account (id, kind, tenant_id, available) VALUES (gen_random_uuid(), 'TENANT', ${tenant!.id}::uuid, 5)`;

    await expect(
      db.prisma.$executeRaw`UPDATE account SET available = available - 6 WHERE tenant_id = ${tenant!.id}::uuid`,
    ).rejects.toThrow(/account_tenant_available_nonneg/);
    await expect(
      db.prisma.$executeRaw`UPDATE account SET held = -1 WHERE tenant_id = ${tenant!.id}::uuid`,
    ).rejects.toThrow(/account_held_nonneg/);

    // System accounts are unbounded.
    await db.prisma.$executeRaw`INSERT INTO account (id, kind, available) VALUES (gen_random_uuid(), 'TOP_UP', -100)`;
    const [row] = await db.prisma.$queryRaw<Array<{ available: number }>>`
      SELECT available FROM account WHERE tenant_id = ${tenant!.id}::uuid`;
    expect(row!.available).toBe(5);
  });
});
