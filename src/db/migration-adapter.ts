// The driver adapter factory handed to the WebAssembly schema engine: adapter-pg
// over our own pools, plus our own shadow databases (DESIGN.md, fact 1).
// adapter-pg's `connectToShadowDb` ignores the database override when given a
// connection string, and drops the shadow database before closing the pool
// connected to it ("is being accessed by other users").
import { randomUUID } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import { ColumnTypeEnum, DriverAdapterError } from '@prisma/driver-adapter-utils';
import type {
  IsolationLevel,
  SqlDriverAdapter,
  SqlMigrationAwareDriverAdapterFactory,
  SqlQuery,
} from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { CharAsTextPool, charColumns } from './pg-pool.ts';

export class MigrationAdapterFactory implements SqlMigrationAwareDriverAdapterFactory {
  readonly provider = 'postgres';
  readonly adapterName = '@prisma/adapter-pg';
  private readonly pools = new Set<pg.Pool>();
  private readonly shadowDatabases = new Set<string>();

  constructor(private readonly databaseUrl: string) {}

  async connect(): Promise<SqlDriverAdapter> {
    return this.adapterFor(this.databaseUrl, async () => {});
  }

  async connectToShadowDb(): Promise<SqlDriverAdapter> {
    const name = `prisma_shadow_${randomUUID().replaceAll('-', '')}`;
    await this.admin(`CREATE DATABASE "${name}"`);
    this.shadowDatabases.add(name);
    return this.adapterFor(withDatabase(this.databaseUrl, name), () => this.dropShadow(name));
  }

  /** Ends every pool and drops any shadow database the engine did not dispose of. */
  async close(): Promise<void> {
    await Promise.all([...this.pools].map((pool) => this.endPool(pool)));
    for (const name of this.shadowDatabases) await this.dropShadow(name);
  }

  private async adapterFor(url: string, afterDispose: () => Promise<void>): Promise<SqlDriverAdapter> {
    const pool = new CharAsTextPool({ connectionString: url, max: 2 });
    pool.on('error', () => {}); // an idle client's error surfaces on its next query
    this.pools.add(pool);
    const inner = await new PrismaPg(pool).connect();
    return {
      provider: inner.provider,
      adapterName: inner.adapterName,
      queryRaw: async (query: SqlQuery) => {
        const result = await inner.queryRaw(query);
        // The describer reads pg_constraint.contype strictly as a character.
        for (const index of charColumns(result.rows)) result.columnTypes[index] = ColumnTypeEnum.Character;
        return result;
      },
      executeRaw: (query: SqlQuery) => inner.executeRaw(query),
      startTransaction: (isolationLevel?: IsolationLevel) => inner.startTransaction(isolationLevel),
      getConnectionInfo: () => inner.getConnectionInfo(),
      // adapter-pg splits scripts on every ";" (breaking quoted and dollar-quoted
      // text). Send the script whole, as one simple query, as the native engine does.
      executeScript: async (script: string) => {
        try {
          await pool.query(script);
        } catch (error) {
          throw asAdapterError(error);
        }
      },
      dispose: async () => {
        await this.endPool(pool);
        await afterDispose();
      },
    };
  }

  private async endPool(pool: pg.Pool): Promise<void> {
    if (!this.pools.delete(pool)) return;
    await pool.end();
  }

  private async dropShadow(name: string): Promise<void> {
    if (!this.shadowDatabases.delete(name)) return;
    await this.admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  }

  private async admin(sql: string): Promise<void> {
    const client = new pg.Client({ connectionString: this.databaseUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }
}

// The shape adapter-pg gives database errors, so the engine reports (and
// records in _prisma_migrations.logs) the database's own message.
function asAdapterError(error: unknown): unknown {
  if (!(error instanceof pg.DatabaseError)) return error;
  return new DriverAdapterError({
    kind: 'postgres',
    code: error.code ?? 'unknown',
    severity: error.severity ?? 'ERROR',
    message: error.message,
    detail: error.detail,
    column: error.column,
    hint: error.hint,
    originalCode: error.code,
    originalMessage: error.message,
  });
}

/** The same server and credentials, another database. */
export function withDatabase(databaseUrl: string, database: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}
