import path from 'node:path';
import { createAuthenticator } from './auth/authenticator.ts';
import { resolveAdminToken } from './auth/admin-token.ts';
import type { Config } from './config.ts';
import { openDatabase } from './db/open.ts';
import { startBalanceAlerts } from './events/balance-alerts.ts';
import { createEventBus } from './events/bus.ts';
import { createLimits } from './limits/index.ts';
import { LiveHub } from './events/live.ts';
import type { Store } from './db/announce.ts';
import { createWebhookDispatcher } from './events/webhook-dispatcher.ts';
import { createLogger, type Logger } from './logger.ts';
import { schema } from './schema/index.ts';
import type { AppDeps } from './server/context.ts';
import { isLow } from './ledger/accounts.ts';
import { UpstreamHealth } from './tasks/upstream-health.ts';
import { GatewayMetrics } from './metrics/registry.ts';
import { instrumentUpstream } from './metrics/upstream.ts';
import { pollerLagSeconds } from './tasks/store.ts';
import { startHttpServer } from './server/http-server.ts';
import { createCallbackRoute } from './tasks/callback-route.ts';
import type { TaskDeps } from './tasks/deps.ts';
import { createTaskPoller } from './tasks/poller.ts';
import { createRecovery } from './tasks/recovery.ts';
import { createReconciler } from './tasks/reconcile.ts';
import { createSingleFlight } from './tasks/single-flight.ts';
import { ensureDemoTenant } from './tenants/demo.ts';
import type { SimulatorOptions } from './simulator/options.ts';
import { createSavedResultsRoute } from './simulator/result-files.ts';
import { type SimulatorHandle, startSimulator } from './simulator/server.ts';
import { createUpstreamClient, type UpstreamClient, type UpstreamEnv } from './upstream/index.ts';

/** Where the gateway serves the in-process simulator's result files: `${PUBLIC_URL}/simulator/files/<task id>/0.png`. */
const SIMULATOR_FILES_PREFIX = '/simulator';

export interface UpstreamRuntime {
  client: UpstreamClient;
  /** Present when the simulator runs in-process (no UPSTREAM_API_KEY). */
  simulator: SimulatorHandle | null;
  /** The base URL the client talks to. */
  baseUrl: string;
  close(): Promise<void>;
}

/**
 * The upstream for `npm start`: a client for the real service when a key is
 * configured, otherwise (outside production, or when asked for) the
 * simulator in-process and a client pointed at it, so a fresh checkout runs
 * end to end with no account.
 */
export async function startUpstream(config: {
  useSimulator: boolean;
  upstream: UpstreamEnv;
  simulator: SimulatorOptions;
  logger: Logger;
  /** Where the simulator keeps its result files, so their URLs outlive the process. */
  simulatorFilesDir?: string;
}): Promise<UpstreamRuntime> {
  const { upstream, logger } = config;
  let simulator: SimulatorHandle | null = null;
  let baseUrl = upstream.url;
  let apiKey = upstream.apiKey;
  if (config.useSimulator || apiKey === undefined) {
    simulator = await startSimulator({
      ...config.simulator,
      port: config.simulator.port ?? 0,
      filesDir: config.simulatorFilesDir,
      onFilesError: (error) => logger.error({ err: error }, 'simulator result file not saved'),
    });
    baseUrl = simulator.url;
    apiKey = simulator.apiKey;
    logger.warn(
      { url: simulator.url, seed: simulator.seed },
      'using the in-process Grok Imagine simulator, not the real service',
    );
  }
  const client = createUpstreamClient({
    baseUrl,
    apiKey,
    timeoutMs: upstream.timeoutMs,
    maxConcurrency: upstream.maxConcurrency,
    connections: upstream.connections,
    retry: { deadlineMs: upstream.retryDeadlineMs },
    logger: logger.child({ component: 'upstream' }),
  });
  return {
    client,
    simulator,
    baseUrl,
    async close() {
      await client.close();
      await simulator?.stop();
    },
  };
}

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
 * Wires the gateway together: config → database (migrated) → event bus →
 * upstream (or the simulator) → workers → HTTP + WebSocket server. main.ts
 * calls this; tests call it in-process. Cleanups run in reverse order of start.
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

    // Every process hears every change (NOTIFY, or Redis with REDIS_URL).
    const bus = createEventBus({ databaseUrl: database.url, redisUrl: config.redisUrl, logger });
    cleanups.push(() => bus.close());
    await bus.ready();
    const store: Store = { db, announcer: bus.announcer };

    // Limits shared with every other process (README, "Limits").
    const limits = createLimits({
      pool: database.pool,
      redisUrl: config.redisUrl,
      logger: logger.child({ component: 'limits' }),
      settings: {
        requestsPerMinute: config.requestsPerMinute,
        generationsPerMinute: config.tasks.ratePerMinute,
        authFailuresPerMinute: config.auth.failuresPerMinute,
        maxConnectionsPerTenant: config.live.maxConnectionsPerTenant,
        maxSubscriptionsPerTenant: config.live.maxSubscriptionsPerTenant,
      },
    });
    cleanups.push(() => limits.close());

    // The simulator's results are kept under DATA_DIR and served by this
    // server at /simulator/files/ (below), so their URLs survive a restart.
    const simulatorFilesDir = path.join(config.dataDir, 'simulator', 'files');
    const upstream =
      options.upstream ??
      (await startUpstream({ useSimulator: config.useSimulator, upstream: config.upstream, simulator: config.simulator, logger, simulatorFilesDir }));
    if (!options.upstream) cleanups.push(() => upstream.close());

    // Read when /metrics is scraped (src/metrics/); `health` is set below, before the server starts.
    const metrics = new GatewayMetrics({
      pollerLagSeconds: () => pollerLagSeconds(db),
      upstreamState: () => health.current().state,
      liveConnections: () => limits.live.inUse('connection'),
      liveSubscriptions: () => limits.live.inUse('subscription'),
      databasePool: () => ({
        inUse: database.pool.totalCount - database.pool.idleCount,
        idle: database.pool.idleCount,
        waiting: database.pool.waitingCount,
      }),
    });

    const ssrfPolicy = { allowHosts: config.webhooks.allowHosts };
    const webhooks = createWebhookDispatcher({
      db,
      logger: logger.child({ component: 'webhooks' }),
      policy: ssrfPolicy,
      timeoutMs: config.webhooks.timeoutMs,
      intervalMs: config.webhooks.intervalMs,
      ...(config.webhooks.leaseMs ? { leaseMs: config.webhooks.leaseMs } : {}),
      ...(config.webhooks.retryScheduleMs ? { schedule: config.webhooks.retryScheduleMs } : {}),
      onAttempt: (status) =>
        metrics.webhookDeliveries.inc({ outcome: status === 'DELIVERED' ? 'delivered' : status === 'PENDING' ? 'retry' : 'failed' }),
    });
    const stopWebhookKicks = bus.on('webhooks', () => webhooks.kick());
    cleanups.push(async () => stopWebhookKicks());
    const stopBalanceAlerts = startBalanceAlerts({ bus, store, logger: logger.child({ component: 'balance-alerts' }) });
    cleanups.push(() => stopBalanceAlerts());
    let baseUrl = config.publicUrl ?? '';
    const health = new UpstreamHealth({ store, logger: logger.child({ component: 'upstream-health' }), ...config.breaker });
    const stopHealth = bus.on('upstreamHealth', (event) => health.apply(event));
    cleanups.push(async () => stopHealth());
    const tasks: TaskDeps = {
      store,
      upstream: instrumentUpstream(upstream.client, metrics),
      health,
      metrics,
      logger: logger.child({ component: 'tasks' }),
      settings: config.tasks,
      generations: limits.generations,
      idempotentRequests: createSingleFlight(),
      ssrfPolicy,
      callbackBaseUrl: () => baseUrl,
    };
    const poller = createTaskPoller(tasks);
    const recovery = createRecovery(tasks);
    const reconciler = createReconciler(tasks, config.reconcile);

    const admin = await resolveAdminToken(config.adminToken, config.dataDir);
    const authenticator = createAuthenticator({
      db,
      logger,
      adminToken: admin.token,
      cacheTtlMs: config.auth.cacheTtlMs,
      negativeCacheMs: config.auth.negativeCacheMs,
      failures: limits.authFailures,
    });
    // Revocations made on any process close this process's sockets too.
    const stopRevocations = bus.on('keyRevoked', ({ keyId }) => authenticator.forget(keyId));
    const stopExpiries = bus.on('keyExpiry', ({ keyId, at }) => authenticator.expireAt(keyId, at));
    const live = new LiveHub({
      bus,
      logger: logger.child({ component: 'live' }),
      isRevoked: (keyId) => authenticator.isRevoked(keyId),
      loadTasks: (ids) => db.task.findMany({ where: { id: { in: ids } } }),
      loadBalances: async (tenantIds) =>
        (
          await db.account.findMany({
            where: { tenantId: { in: tenantIds } },
            select: { tenantId: true, available: true, held: true, lowBalanceThreshold: true },
          })
        ).map((a) => ({ type: 'balance' as const, tenantId: a.tenantId!, available: a.available, held: a.held, low: isLow(a) })),
    });
    cleanups.push(async () => {
      stopRevocations();
      stopExpiries();
      live.close();
    });
    const deps: AppDeps = { config, db, store, logger, authenticator, live, limits, tasks, metrics };
    const callbackRoute = createCallbackRoute(tasks, (id) => poller.pollNow(id));
    // Served whether or not the simulator runs now: results it made before stay reachable.
    const simulatorFiles = createSavedResultsRoute(simulatorFilesDir, SIMULATOR_FILES_PREFIX);
    const server = await startHttpServer(deps, schema, (req, res) => callbackRoute(req, res) || simulatorFiles(req, res));
    baseUrl ||= server.url;
    // Result URLs on this gateway's own address rather than the simulator's
    // random port (unless SIMULATOR_PUBLIC_URL says otherwise).
    if (!options.upstream && upstream.simulator && !config.simulator.publicUrl) {
      upstream.simulator.configure({ publicUrl: `${baseUrl}${SIMULATOR_FILES_PREFIX}` });
    }

    // Workers start once the server can take callbacks. At shutdown the
    // server closes first (in-flight requests finish), then the workers stop.
    for (const worker of [poller, recovery, reconciler, webhooks]) {
      worker.start();
      cleanups.push(() => worker.stop());
    }
    cleanups.push(() => server.close());

    const demo = config.seedDemoTenant ? await ensureDemoTenant(store, config.dataDir) : null;
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
