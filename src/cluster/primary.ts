// The cluster primary (WEB_CONCURRENCY >= 2): the process `npm start` runs
// does the once-per-machine work, then runs N gateway workers that share its
// port (node:cluster hands each accepted connection to one of them).
//
// Once per machine, here: the embedded PostgreSQL when DATABASE_URL is unset
// (and the migrations), the simulator when no upstream key is configured, the
// admin token and the demo tenant. Each worker then gets, in its environment,
// the database's URL, the simulator's URL and key, and the admin token; it
// runs startGateway without migrating or seeding (worker.ts). The primary
// serves no requests: it forks, replaces dead workers (pool.ts), sums their
// metrics for /metrics (metrics/cluster.ts) and, on SIGTERM or SIGINT, stops
// the workers (each drains as a lone gateway does), then the simulator and
// the database.
import path from 'node:path';
import { startUpstream, type UpstreamRuntime } from '../app.ts';
import { resolveAdminToken } from '../auth/admin-token.ts';
import { printBanner } from '../banner.ts';
import type { Config } from '../config.ts';
import { notifyAnnouncer } from '../db/announce.ts';
import { openDatabase, type OpenDatabase } from '../db/open.ts';
import { manageLifecycle } from '../lifecycle.ts';
import type { Logger } from '../logger.ts';
import { serveClusterMetrics } from '../metrics/cluster.ts';
import { ensureDemoTenant } from '../tenants/demo.ts';
import { WorkerPool } from './pool.ts';

/** The primary's own pool: the demo tenant's few statements, nothing else. */
const PRIMARY_POOL_SIZE = 2;

interface Prepared {
  database: OpenDatabase;
  upstream: UpstreamRuntime | null;
  admin: { token: string; generated: boolean };
  demoKey: string | null;
}

export async function runPrimary(config: Config, baseLogger: Logger): Promise<void> {
  const logger = baseLogger.child({ role: 'primary' });
  const primary = new ClusterPrimary(config, logger);
  const started = primary.start();
  const lifecycle = manageLifecycle({
    logger,
    // Longer than a worker's own watchdog, so a stuck worker is its own watchdog's to end first.
    watchdogMs: config.shutdownTimeoutMs + 10_000,
    stop: async () => {
      await primary.close();
      if (primary.failure) throw primary.failure;
    },
    // The embedded PostgreSQL's guard stops the database once this process is gone.
    onTimeout: () => primary.kill(),
  });
  primary.onGiveUp = () => lifecycle.shutdown('workers keep crashing');

  const ready = await started.catch(async (error: unknown) => {
    // A signal during the start stops it; the shutdown has the last word.
    if (lifecycle.stopping) return null;
    logger.fatal({ err: error }, 'gateway failed to start');
    return lifecycle.exit(1);
  });
  if (ready === null || lifecycle.stopping) return;
  const { url, prepared } = ready;
  printBanner({
    graphqlUrl: `${url}/graphql`,
    graphiql: config.graphql.graphiql,
    dataDir: config.dataDir,
    adminToken: prepared.admin.token,
    adminTokenGenerated: prepared.admin.generated,
    demoKey: prepared.demoKey,
    processes: config.webConcurrency,
  });
  logger.info({ url: `${url}/graphql`, workers: config.webConcurrency }, 'gateway started');
}

class ClusterPrimary {
  readonly #config: Config;
  readonly #logger: Logger;
  readonly #cleanups: (() => Promise<void>)[] = [];
  #pool: WorkerPool | null = null;
  #closing: Promise<void> | null = null;
  /** The once-per-machine part of the start. */
  #prepared: Promise<Prepared> | null = null;
  /** Why the primary exits 1 after an orderly stop. */
  failure: Error | null = null;
  onGiveUp: () => void = () => undefined;

  constructor(config: Config, logger: Logger) {
    this.#config = config;
    this.#logger = logger;
  }

  /** Resolves with the gateway's URL once every worker serves it; on failure, closes what started. */
  async start(): Promise<{ url: string; prepared: Prepared }> {
    this.#prepared = this.#prepare();
    try {
      const prepared = await this.#prepared;
      if (this.#closing) throw new Error('stopped during start');
      const pool = this.#startPool(prepared);
      const url = await pool.start();
      // Result URLs on the gateway's own address (it serves DATA_DIR/simulator/files), as a lone gateway does.
      if (prepared.upstream?.simulator && !this.#config.simulator.publicUrl) {
        prepared.upstream.simulator.configure({ publicUrl: `${this.#config.publicUrl ?? url}/simulator` });
      }
      return { url, prepared };
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  async #prepare(): Promise<Prepared> {
    const config = this.#config;
    const logger = this.#logger;
    const database = await openDatabase({ ...config, databasePoolSize: PRIMARY_POOL_SIZE }, { migrate: true });
    this.#cleanups.push(() => database.close());
    if (database.applied.length > 0) logger.info({ migrations: database.applied }, 'migrations applied');
    let upstream: UpstreamRuntime | null = null;
    if (config.useSimulator) {
      upstream = await startUpstream({
        useSimulator: true,
        upstream: config.upstream,
        simulator: config.simulator,
        logger,
        simulatorFilesDir: path.join(config.dataDir, 'simulator', 'files'),
      });
      const started = upstream;
      this.#cleanups.push(() => started.close());
    }
    const admin = await resolveAdminToken(config.adminToken, config.dataDir);
    // Its one top-up announces through NOTIFY whatever the workers' bus: nobody follows a tenant made this instant.
    const demo = config.seedDemoTenant ? await ensureDemoTenant({ db: database.prisma, announcer: notifyAnnouncer }, config.dataDir) : null;
    return { database, upstream, admin, demoKey: demo?.secret ?? null };
  }

  #startPool(prepared: Prepared): WorkerPool {
    const env: Record<string, string> = {
      DATABASE_URL: prepared.database.url,
      ADMIN_TOKEN: prepared.admin.token,
      // Done here, once.
      SEED_DEMO_TENANT: 'false',
    };
    if (prepared.upstream?.simulator) {
      // The primary's simulator, not one per worker.
      Object.assign(env, { UPSTREAM_URL: prepared.upstream.baseUrl, UPSTREAM_API_KEY: prepared.upstream.simulator.apiKey, UPSTREAM_SIMULATOR: 'false' });
    }
    const pool = new WorkerPool(this.#config.webConcurrency, env, this.#logger, (error) => {
      this.failure = error;
      this.onGiveUp();
    });
    this.#pool = pool;
    this.#cleanups.push(async () => {
      await pool.stop();
      if (pool.failedStop) this.failure ??= new Error('a gateway worker did not stop cleanly');
    });
    serveClusterMetrics(() => pool.readyWorkers(), this.#logger);
    return pool;
  }

  /** Stops the workers (each drains), then the simulator and the database; once, whoever asks. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      // What is still starting finishes first, so that it is closed too.
      await this.#prepared?.catch(() => undefined);
      for (const cleanup of this.#cleanups.reverse()) {
        try {
          await cleanup();
        } catch (error) {
          this.#logger.error({ err: error }, 'error during shutdown');
        }
      }
    })();
    return this.#closing;
  }

  kill(): void {
    this.#pool?.kill();
  }
}
