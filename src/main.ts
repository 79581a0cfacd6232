// Entry point of `npm start` (and of the container): configuration, then the
// gateway, then signals.
//
// `npm start` runs `exec node --import tsx src/main.ts`: npm forwards SIGTERM
// and SIGINT to its child, and `exec` makes that child this process (dash, the
// usual /bin/sh, would otherwise stay in between and die of the signal, leaving
// the gateway and its embedded PostgreSQL behind). There is no tsx CLI process
// either: it relays a signal to its child and SIGKILLs the child if it has not
// acknowledged the signal within ~60 ms, which under load cut a shutdown short
// after "shutting down" and before "stopped".
//
// WEB_CONCURRENCY=N (N >= 2) makes this process a cluster primary that runs N
// gateway workers on the one port (src/cluster/); node:cluster forks them from
// this same file, with the same `--import tsx`.
import cluster from 'node:cluster';
import { printBanner } from './banner.ts';
import { runPrimary } from './cluster/primary.ts';
import { runWorker } from './cluster/worker.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { startManaged } from './lifecycle.ts';
import { createLogger, type Logger } from './logger.ts';

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}

const logger = createLogger(config.logLevel);
if (cluster.isWorker) await runWorker(config, logger);
else if (config.webConcurrency > 1) await runPrimary(config, logger);
else await runAlone(config, logger);

/** One process: the gateway itself (WEB_CONCURRENCY unset or 1). */
async function runAlone(config: Config, logger: Logger): Promise<void> {
  const gateway = await startManaged(config, logger);
  if (!gateway) return;
  printBanner({
    graphqlUrl: gateway.graphqlUrl,
    graphiql: config.graphql.graphiql,
    dataDir: config.dataDir,
    adminToken: gateway.adminToken,
    adminTokenGenerated: gateway.adminTokenGenerated,
    demoKey: gateway.demoKey,
  });
  logger.info({ url: gateway.graphqlUrl }, 'gateway started');
}
