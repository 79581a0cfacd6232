// The simulator's books under load: with a few hundred concurrent tasks,
// failures and 500s on, charged minus refunded equals the sum of
// consumed_credits over all tasks, and the balance moved by exactly that much.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CREDITS, type Model, MODELS } from '../../src/simulator/contract.ts';
import type { SimulatorHandle } from '../../src/simulator/server.ts';
import type { UpstreamClient } from '../../src/upstream/client.ts';
import { clientFor, startCallbackReceiver, startTestSimulator, type CallbackReceiver } from '../upstream/helpers.ts';

const START = 100_000;
let sim: SimulatorHandle;
let client: UpstreamClient;
let receiver: CallbackReceiver;

beforeAll(async () => {
  sim = await startTestSimulator({ credits: START, failureRate: 0.3, errorRate: 0.05, latencyMs: '0-80', seed: 7 });
  client = clientFor(sim, { maxConcurrency: 64, connections: 16, retry: { maxAttempts: 10, baseDelayMs: 5, maxDelayMs: 40, deadlineMs: 10_000 } });
  receiver = await startCallbackReceiver();
});
afterAll(async () => {
  await client.close();
  await receiver.close();
  await sim.stop();
});

async function settle(taskIds: string[]) {
  const records = [];
  for (const taskId of taskIds) {
    for (;;) {
      const record = await client.status(taskId);
      if (record.status !== 'IN_PROGRESS') {
        records.push(record);
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  return records;
}

it('keeps charged - refunded == sum(consumed_credits) under concurrent load with failures', async () => {
  const textModels = ['grok-imagine/text-to-image', 'grok-imagine/text-to-video'] as const;
  const firstWave = await Promise.all(
    Array.from({ length: 240 }, (_, i) => {
      const model = textModels[i % 2] ?? 'grok-imagine/text-to-image';
      return client.generate(model, { prompt: `task ${i}` }, { public: i % 3 === 0, callbackUrl: i % 4 === 0 ? receiver.url : undefined });
    }),
  );
  const firstRecords = await settle(firstWave.map((r) => r.taskId));
  const images = firstRecords.filter((r) => r.status === 'SUCCESS' && r.resultUrls[0]?.endsWith('.png'));
  expect(images.length).toBeGreaterThan(10);

  // A second wave that references the first: upscales and image-to-video.
  const secondWave = await Promise.all(
    images.slice(0, 60).map((r, i) =>
      i % 2 === 0
        ? client.generate('grok-imagine/upscale', { taskId: r.taskId })
        : client.generate('grok-imagine/image-to-video', { taskId: r.taskId }),
    ),
  );
  const records = [...firstRecords, ...(await settle(secondWave.map((r) => r.taskId)))];
  await sim.callbacksIdle();

  const c = sim.counters();
  const consumedViaClient = records.reduce((sum, r) => sum + r.consumedCredits, 0);
  const consumedInSim = sim.tasks().reduce((sum, t) => sum + t.consumedCredits, 0);
  expect(c.creditsCharged - c.creditsRefunded).toBe(consumedInSim);
  expect(consumedViaClient).toBe(consumedInSim);
  expect(c.consumedCredits).toBe(consumedInSim);
  expect(START - sim.credits()).toBe(consumedInSim);

  // Every task is accounted for exactly once: 500s created nothing, so no duplicates.
  expect(c.tasks.created).toBe(records.length);
  expect(c.tasks.inProgress).toBe(0);
  expect(c.tasks.failed).toBeGreaterThan(0);
  expect(c.requests.generate?.['500'] ?? 0).toBeGreaterThan(0);
  for (const r of records) {
    const model = (r.request?.model ?? '') as Model;
    expect(MODELS).toContain(model);
    expect(r.consumedCredits).toBe(r.status === 'FAILED' ? 0 : CREDITS[model]);
  }
  const failedCost = sim.tasks().filter((t) => t.status === 'FAILED').reduce((s, t) => s + t.cost, 0);
  expect(c.creditsRefunded).toBe(failedCost);

  // Callbacks were sent for every task that asked for one, and never more than once each.
  const wanted = sim.tasks().filter((t) => t.callbackUrl !== undefined).length;
  expect(c.callbacks.delivered).toBe(wanted);
  expect(new Set(receiver.received.map((b) => (b as { data: { task_id: string } }).data.task_id)).size).toBe(wanted);
});
