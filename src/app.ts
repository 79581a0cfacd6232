import { createAuthenticator } from './auth/authenticator.ts';
import { resolveAdminToken } from './auth/admin-token.ts';
import type { Config } from './config.ts';
import { openDatabase } from './db/open.ts';
import { createEventBus } from './events/bus.ts';
import { LiveHub } from './events/live.ts';
import { createWebhookDispatcher } from './events/webhook-dispatcher.ts';
import { createLogger, type Logger } from './logger.ts';
import { schema } from './schema/index.ts';
import type { AppDeps } from './server/context.ts';
import { startHttpServer } from './server/http-server.ts';
import { createCallbackRoute } from './tasks/callback-route.ts';
import type { TaskDeps } from './tasks/deps.ts';
import { createTaskPoller } from './tasks/poller.ts';
import { createRateLimiter } from './tasks/rate-limit.ts';
import { createRecovery } from './tasks/recovery.ts';
import { ensureDemoTenant } from './tenants/demo.ts';
import { startUpstream, type UpstreamRuntime } from './upstream/bootstrap.ts';

export interface Gateway {
  url: string;
  graphqlUrl: string;
  adminToken: string;
  adminTokenGenerated: boolean;
  demoKey: string | null;
  deps: AppDeps;
  upstream: UpstreamRuntime;
  /** Graceful stop: server first (in-flight requests finish), then workers, then the pool. */
  close(): Promise<void>;
}

/**
 * Wires the gateway together: config → database (migrated) → upstream →
 * workers → HTTP + WebSocket server. main.ts calls this; tests call it
 * in-process. Cleanups run in reverse order of start.
 */
export async function startGateway(
  config: Config,
  options: { logger?: Logger; migrate?: boolean; upstream?: UpstreamRuntime } = {},
): Promise<Gateway> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const cleanups: (() => Promise<void>)[] = [];
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
    const database = await openDatabase(config, { migrate: options.migrate ?? true });
    cleanups.push(() => database.close());
    if (database.applied.length > 0) logger.info({ migrations: database.applied }, 'migrations applied');
    const db = database.prisma;

    const upstream = options.upstream ?? (await startUpstream({ upstream: config.upstream, simulator: config.simulator, logger }));
    if (!options.upstream) cleanups.push(() => upstream.close());
    const bus = createEventBus({ redisUrl: config.redisUrl, logger });
    cleanups.push(() => bus.close());

    const ssrfPolicy = { allowHosts: config.webhooks.allowHosts };
    const webhooks = createWebhookDispatcher({
      db,
      logger: logger.child({ component: 'webhooks' }),
      policy: ssrfPolicy,
      timeoutMs: config.webhooks.timeoutMs,
      intervalMs: config.webhooks.intervalMs,
      ...(config.webhooks.leaseMs ? { leaseMs: config.webhooks.leaseMs } : {}),
      ...(config.webhooks.retryScheduleMs ? { schedule: config.webhooks.retryScheduleMs } : {}),
    });
    let baseUrl = config.publicUrl ?? '';
    const tasks: TaskDeps = {
      db,
      upstream: upstream.client,
      bus,
      logger: logger.child({ component: 'tasks' }),
      settings: config.tasks,
      rateLimiter: createRateLimiter(config.tasks.ratePerMinute),
      ssrfPolicy,
      callbackBaseUrl: () => baseUrl,
      onWebhooksEnqueued: () => webhooks.kick(),
    };
    const poller = createTaskPoller(tasks);
    const recovery = createRecovery(tasks);

    const admin = await resolveAdminToken(config.adminToken, config.dataDir);
    const authenticator = createAuthenticator({ db, logger, adminToken: admin.token, cacheTtlMs: config.authCacheTtlMs });
    // Revocations made on other processes (through Redis) close sockets here too.
    const stopRevocations = bus.on('keyRevoked', ({ keyId }) => authenticator.forget(keyId));
    const live = new LiveHub(bus, (keyId) => authenticator.isRevoked(keyId));
    cleanups.push(async () => {
      stopRevocations();
      live.close();
    });
    const deps: AppDeps = { config, db, logger, authenticator, bus, live, tasks };
    const server = await startHttpServer(deps, schema, createCallbackRoute(tasks, (id) => poller.pollNow(id)));
    baseUrl ||= server.url;

    // Workers start once the server can take callbacks. At shutdown the
    // server closes first (in-flight requests finish), then the workers stop.
    for (const worker of [poller, recovery, webhooks]) {
      worker.start();
      cleanups.push(() => worker.stop());
    }
    cleanups.push(() => server.close());

    const demo = config.seedDemoTenant ? await ensureDemoTenant(db, config.dataDir) : null;
    return {
      url: server.url,
      graphqlUrl: `${server.url}/graphql`,
      adminToken: admin.token,
      adminTokenGenerated: admin.generated,
      demoKey: demo?.secret ?? null,
      deps,
      upstream,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
