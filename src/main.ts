// Entry point of `npm start`: configuration, then the gateway, then signals.
import { startGateway } from './app.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';

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

const gateway = await startGateway(config);
const { logger } = gateway.deps;

const banner = [
  '',
  `  Grok Imagine gateway ready`,
  `  GraphQL:  ${gateway.graphqlUrl}${config.env === 'production' ? '' : '   (open it in a browser for GraphiQL)'}`,
  `  WebSocket: ${gateway.graphqlUrl.replace(/^http/, 'ws')}   (graphql-transport-ws)`,
  gateway.adminTokenGenerated ? `  Admin token (kept in ${config.dataDir}/admin-token): ${gateway.adminToken}` : '  Admin token: from ADMIN_TOKEN',
  gateway.demoKey ? `  Demo tenant key: ${gateway.demoKey}` : '',
  '',
].filter((line, i, all) => line !== '' || i === 0 || i === all.length - 1);
// The banner goes to stderr as plain text, so stdout stays pure JSON logs.
process.stderr.write(`${banner.join('\n')}\n`);
logger.info({ url: gateway.graphqlUrl }, 'gateway started');

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  // A watchdog: if something hangs (a dead database, say), exit anyway.
  setTimeout(() => {
    logger.error('shutdown timed out; exiting');
    process.exit(1);
  }, config.shutdownTimeoutMs + 5000).unref();
  let code = 0;
  try {
    await gateway.close();
    logger.info('stopped');
  } catch (error) {
    // Said, not lost: an unhandled rejection here would end the process before its logs are written.
    logger.error({ err: error }, 'shutdown failed');
    code = 1;
  }
  // Logs are written asynchronously: the last lines go out before the process does.
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  process.exit(code);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
