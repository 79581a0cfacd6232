// `npm start` wiring (startUpstream in src/app.ts): without UPSTREAM_API_KEY
// the client talks to an in-process simulator; with one, it talks to
// UPSTREAM_URL and starts nothing.
import { pino } from 'pino';
import { expect, it } from 'vitest';
import { startUpstream } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { startTestSimulator } from './upstream/helpers.ts';

const logger = pino({ level: 'silent' });

it('runs the simulator in-process when no upstream key is configured', async () => {
  const runtime = await startUpstream({ ...loadConfig({ SIMULATOR_LATENCY_MS: '10' }), logger });
  expect(runtime.simulator).not.toBeNull();
  expect(runtime.baseUrl).toBe(runtime.simulator?.url);
  const { taskId } = await runtime.client.generate('grok-imagine/text-to-image', { prompt: 'hello' });
  runtime.simulator?.completeNow(taskId);
  expect((await runtime.client.status(taskId)).status).toBe('SUCCESS');
  await runtime.close();
});

it('uses UPSTREAM_URL and the key when one is configured', async () => {
  const sim = await startTestSimulator({ apiKey: 'real-key' });
  const runtime = await startUpstream({ ...loadConfig({ UPSTREAM_URL: sim.url, UPSTREAM_API_KEY: 'real-key' }), logger });
  expect(runtime.simulator).toBeNull();
  await runtime.client.generate('grok-imagine/text-to-image', { prompt: 'hello' });
  expect(sim.counters().tasks.created).toBe(1);
  await runtime.close();
  await sim.stop();
});

it('runs the simulator with a key configured only when asked to (UPSTREAM_SIMULATOR=true)', async () => {
  const runtime = await startUpstream({
    ...loadConfig({ NODE_ENV: 'production', ADMIN_TOKEN: 'x'.repeat(16), UPSTREAM_API_KEY: 'real-key', UPSTREAM_SIMULATOR: 'true' }),
    logger,
  });
  expect(runtime.simulator).not.toBeNull();
  expect(runtime.baseUrl).toBe(runtime.simulator?.url);
  await runtime.close();
});
