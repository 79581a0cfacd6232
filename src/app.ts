import { createAuthenticator } from './auth/authenticator.ts';
import { resolveAdminToken } from './auth/admin-token.ts';
import type { Config } from './config.ts';
import { openDatabase } from './db/open.ts';
import { createLogger, type Logger } from './logger.ts';
import { schema } from './schema/index.ts';
import type { AppDeps } from './server/context.ts';
import { startHttpServer } from './server/http-server.ts';
import { ensureDemoTenant } from './tenants/demo.ts';

export interface Gateway {
  url: string;
  graphqlUrl: string;
  adminToken: string;
  adminTokenGenerated: boolean;
  demoKey: string | null;
  deps: AppDeps;
  /** Graceful stop: server first (in-flight requests finish), then workers, then the pool. */
  close(): Promise<void>;
}

/**
 * Wires the gateway together: database (migrated), auth, upstream, workers,
 * HTTP + WebSocket server. main.ts calls this; tests call it in-process.
 */
export async function startGateway(
  config: Config,
  options: { logger?: Logger; migrate?: boolean } = {},
): Promise<Gateway> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const database = await openDatabase(config, { migrate: options.migrate ?? true });
  if (database.applied.length > 0) logger.info({ migrations: database.applied }, 'migrations applied');
  const cleanups: (() => Promise<void>)[] = [() => database.close()];
  const closeAll = async () => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        logger.error({ err: error }, 'error during shutdown');
      }
    }
  };
  try {
    const admin = await resolveAdminToken(config.adminToken, config.dataDir);
    const authenticator = createAuthenticator({
      db: database.prisma,
      logger,
      adminToken: admin.token,
      cacheTtlMs: config.authCacheTtlMs,
    });
    const deps: AppDeps = { config, db: database.prisma, logger, authenticator };
    const server = await startHttpServer(deps, schema);
    cleanups.push(() => server.close());
    const demo = config.seedDemoTenant ? await ensureDemoTenant(database.prisma, config.dataDir) : null;
    return {
      url: server.url,
      graphqlUrl: `${server.url}/graphql`,
      adminToken: admin.token,
      adminTokenGenerated: admin.generated,
      demoKey: demo?.secret ?? null,
      deps,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
