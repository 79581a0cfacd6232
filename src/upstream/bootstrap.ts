// Wiring for `npm start`: a client for the real upstream when a key is
// configured, otherwise an in-process simulator and a client pointed at it, so
// a fresh checkout runs end to end with no account.
import type { Logger } from 'pino';
import type { SimulatorOptions } from '../simulator/options.ts';
import { type SimulatorHandle, startSimulator } from '../simulator/server.ts';
import { createUpstreamClient, type UpstreamClient } from './client.ts';
import type { UpstreamEnv } from './options.ts';

export interface UpstreamRuntime {
  client: UpstreamClient;
  /** Present when the simulator runs in-process (no UPSTREAM_API_KEY). */
  simulator: SimulatorHandle | null;
  /** The base URL the client talks to. */
  baseUrl: string;
  close(): Promise<void>;
}

export async function startUpstream(config: {
  upstream: UpstreamEnv;
  simulator: SimulatorOptions;
  logger: Logger;
}): Promise<UpstreamRuntime> {
  const { upstream, logger } = config;
  let simulator: SimulatorHandle | null = null;
  let baseUrl = upstream.url;
  let apiKey = upstream.apiKey;
  if (apiKey === undefined) {
    simulator = await startSimulator({ ...config.simulator, port: config.simulator.port ?? 0 });
    baseUrl = simulator.url;
    apiKey = simulator.apiKey;
    logger.warn(
      { url: simulator.url, seed: simulator.seed },
      'UPSTREAM_API_KEY is not set: using the in-process Grok Imagine simulator, not the real service',
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
