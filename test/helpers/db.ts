// A fresh database per test file, cloned from the migrated template that
// test/global-setup.ts builds once per run.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import { notifyAnnouncer, type Store } from '../../src/db/announce.ts';
import { createPrisma } from '../../src/db/client.ts';
import { withDatabase } from '../../src/db/migration-adapter.ts';
import type { PrismaClient } from '../../src/generated/prisma/client.ts';

export interface TestDatabase {
  url: string;
  name: string;
  prisma: PrismaClient;
  /** Disconnects `prisma` and drops the database (teardown drops leftovers too). */
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const { adminUrl, template, prefix } = inject('testDatabase');
  const name = `${prefix}${randomBytes(6).toString('hex')}`;
  await cloneTemplate(adminUrl, template, name);
  const url = withDatabase(adminUrl, name);
  const prisma = createPrisma(url, { max: 5 });
  return {
    url,
    name,
    prisma,
    async drop() {
      await prisma.$disconnect();
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

/**
 * For a test file that calls the ledger or the lifecycle directly: a fresh
 * database for the file (made before its tests, dropped after), and a store
 * that announces through NOTIFY as production does. Read `.db` and `.store`
 * inside tests.
 */
export function useTestStore(): { readonly db: PrismaClient; readonly store: Store } {
  let database: TestDatabase | undefined;
  let store: Store | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
    store = { db: database.prisma, announcer: notifyAnnouncer };
  });
  afterAll(async () => {
    await database?.drop();
  });
  return {
    get db() {
      if (!database) throw new Error('useTestStore: read .db inside a test');
      return database.prisma;
    },
    get store() {
      if (!store) throw new Error('useTestStore: read .store inside a test');
      return store;
    },
  };
}

/** An empty database (no migrations), for tests of the migrations themselves. */
export async function createEmptyDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const { adminUrl, prefix } = inject('testDatabase');
  const name = `${prefix}${randomBytes(6).toString('hex')}`;
  await adminQuery(adminUrl, `CREATE DATABASE "${name}"`);
  return {
    url: withDatabase(adminUrl, name),
    drop: () => adminQuery(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

// Nobody may connect to the template (global setup forbids it), but CREATE
// DATABASE still reports "source database is being accessed by other users"
// (55006) if a connection is just closing: retry briefly.
async function cloneTemplate(adminUrl: string, template: string, name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await adminQuery(adminUrl, `CREATE DATABASE "${name}" TEMPLATE "${template}"`);
      return;
    } catch (error) {
      if (!(error instanceof pg.DatabaseError) || error.code !== '55006' || attempt >= 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }
}

async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
