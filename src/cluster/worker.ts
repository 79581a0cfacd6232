// A gateway worker of the cluster (WEB_CONCURRENCY >= 2; primary.ts forked
// it): a whole gateway, as one process alone runs it, on the primary's
// database and upstream, listening on the port every worker shares. It skips
// what the primary did once: migrations, the demo tenant (its environment
// says SEED_DEMO_TENANT=false), the simulator (its environment names the
// primary's). It stops as a lone gateway does, on the SIGTERM the primary
// sends it (or a terminal's SIGINT). If the primary dies, node:cluster ends
// the worker when their IPC channel closes.
import cluster from 'node:cluster';
import type { Config } from '../config.ts';
import { startManaged } from '../lifecycle.ts';
import type { Logger } from '../logger.ts';
import { joinClusterMetrics } from '../metrics/cluster.ts';
import { READY, type ReadyMessage } from './pool.ts';

export async function runWorker(config: Config, baseLogger: Logger): Promise<void> {
  const logger = baseLogger.child({ worker: cluster.worker?.id });
  // A failed start exits 1; the primary replaces this worker.
  const gateway = await startManaged(config, logger, { migrate: false });
  if (!gateway) return;
  // /metrics on this worker answers the sum over every worker.
  gateway.deps.metrics.aggregateWith(joinClusterMetrics(gateway.deps.metrics.registry));
  const ready: ReadyMessage = { type: READY, url: gateway.url };
  process.send?.(ready, undefined, undefined, () => undefined);
  logger.info({ url: gateway.graphqlUrl }, 'gateway started');
}
