// `npm run simulator`: the simulator on its own, configured by SIMULATOR_* variables.
import { pino } from 'pino';
import { parseSimulatorEnv } from './options.ts';
import { startSimulator } from './server.ts';

// A fixed port when standalone, so other processes can be pointed at it.
const DEFAULT_STANDALONE_PORT = 4010;

const logger = pino({ name: 'simulator' });

async function main(): Promise<void> {
  const options = parseSimulatorEnv(process.env);
  const sim = await startSimulator({ ...options, port: options.port ?? DEFAULT_STANDALONE_PORT });
  logger.info(
    {
      url: sim.url,
      apiKey: sim.apiKey,
      seed: sim.seed,
      credits: sim.credits(),
      failureRate: options.failureRate,
      lateRefundRate: options.lateRefundRate,
      errorRate: options.errorRate,
      rateLimit: options.rateLimit,
    },
    `simulator listening; point the gateway at it with UPSTREAM_URL=${sim.url} UPSTREAM_API_KEY=${sim.apiKey}`,
  );
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, counters: sim.counters() }, 'simulator stopping');
    sim.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  logger.fatal({ err }, 'simulator failed to start');
  process.exit(1);
});
