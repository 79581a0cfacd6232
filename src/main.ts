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
import { startGateway, type Gateway } from './app.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { createLogger } from './logger.ts';

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
const started: Promise<Gateway> = startGateway(config, { logger });

// Installed before the gateway is up, so a signal during start-up (migrations,
// say) still closes what has started instead of killing the process outright.
let stopping: Promise<void> | undefined;
function onSignal(signal: NodeJS.Signals): void {
  // One shutdown, whatever arrives next: a signal can come twice (from npm and
  // from the terminal's process group), and a second shutdown racing the first
  // would exit before the first has closed the database.
  if (stopping) {
    logger.info({ signal }, 'shutdown already in progress');
    return;
  }
  stopping = shutdown(signal);
}
process.on('SIGTERM', onSignal);
process.on('SIGINT', onSignal);

async function shutdown(signal: NodeJS.Signals): Promise<void> {
  logger.info({ signal }, 'shutting down');
  // A watchdog: if something hangs (a dead database, say), exit anyway.
  setTimeout(() => {
    logger.error('shutdown timed out; exiting');
    void exit(1);
  }, config.shutdownTimeoutMs + 5000).unref();
  let code = 0;
  try {
    const gateway = await started;
    await gateway.close();
    logger.info('stopped');
  } catch (error) {
    // Said, not lost: an unhandled rejection here would end the process before its logs are written.
    logger.error({ err: error }, 'shutdown failed');
    code = 1;
  }
  await exit(code);
}

/** Logs are written asynchronously: the last lines go out before the process does. */
async function exit(code: number): Promise<never> {
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  process.exit(code);
}

const gateway = await started.catch((error: unknown) => {
  // startGateway has already closed whatever it had started.
  logger.fatal({ err: error }, 'gateway failed to start');
  return exit(1);
});

if (!stopping) {
  const banner = [
    '',
    `  Grok Imagine gateway ready`,
    `  GraphQL:  ${gateway.graphqlUrl}${config.graphql.graphiql ? '   (open it in a browser for GraphiQL)' : ''}`,
    `  WebSocket: ${gateway.graphqlUrl.replace(/^http/, 'ws')}   (graphql-transport-ws)`,
    `  Console:  ${gateway.graphqlUrl.replace(/\/graphql$/, '/console')}   (admin pages and a playground)`,
    gateway.adminTokenGenerated ? `  Admin token (kept in ${config.dataDir}/admin-token): ${gateway.adminToken}` : '  Admin token: from ADMIN_TOKEN',
    gateway.demoKey ? `  Demo tenant key: ${gateway.demoKey}` : '',
    '',
  ].filter((line, i, all) => line !== '' || i === 0 || i === all.length - 1);
  // The banner goes to stderr as plain text, so stdout stays pure JSON logs.
  process.stderr.write(`${banner.join('\n')}\n`);
  logger.info({ url: gateway.graphqlUrl }, 'gateway started');
}
