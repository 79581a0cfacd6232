// `npm start` wiring (startUpstream in src/app.ts): without UPSTREAM_API_KEY
// the client talks to an in-process simulator; with one, it talks to
// UPSTREAM_URL and starts nothing.
import { pino } from 'pino';
import { expect, it } from 'vitest';
import { startUpstream } from '../src/app.ts';
import { parseSimulatorEnv } from '../src/simulator/options.ts';
import { parseUpstreamEnv } from '../src/upstream/options.ts';
import { startTestSimulator } from './upstream/helpers.ts';

const logger = pino({ level: 'silent' });

it('runs the simulator in-process when no upstream key is configured', async () => {
  const runtime = await startUpstream({
    upstream: parseUpstreamEnv({}),
    simulator: parseSimulatorEnv({ SIMULATOR_LATENCY_MS: '10' }),
    logger,
  });
  expect(runtime.simulator).not.toBeNull();
  expect(runtime.baseUrl).toBe(runtime.simulator?.url);
  const { taskId } = await runtime.client.generate('grok-imagine/text-to-image', { prompt: 'hello' });
  runtime.simulator?.completeNow(taskId);
  expect((await runtime.client.status(taskId)).status).toBe('SUCCESS');
  await runtime.close();
});

it('uses UPSTREAM_URL and the key when one is configured', async () => {
  const sim = await startTestSimulator({ apiKey: 'real-key' });
  const runtime = await startUpstream({
    upstream: parseUpstreamEnv({ UPSTREAM_URL: sim.url, UPSTREAM_API_KEY: 'real-key' }),
    simulator: parseSimulatorEnv({}),
    logger,
  });
  expect(runtime.simulator).toBeNull();
  await runtime.client.generate('grok-imagine/text-to-image', { prompt: 'hello' });
  expect(sim.counters().tasks.created).toBe(1);
  await runtime.close();
  await sim.stop();
});
