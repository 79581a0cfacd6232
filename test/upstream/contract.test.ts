// The contract page (shared/upstream/README.md) against the simulator: the
// shared suite (contract-suite.ts, which also runs against the gateway's REST
// facade), then what only the simulator can show (its counters, faults and
// gallery). The simulator reads the page on its own (src/simulator/contract.ts)
// and the gateway through its catalogue (src/catalog.ts): where both readings
// meet, a misreading on either side fails.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SimulatorHandle } from '../../src/simulator/server.ts';
import type { UpstreamClient } from '../../src/upstream/client.ts';
import { UpstreamAuthError, UpstreamRejectedError } from '../../src/upstream/errors.ts';
import { contractSuite } from './contract-suite.ts';
import { clientFor, expectRejection, raw, startCallbackReceiver, startTestSimulator } from './helpers.ts';

contractSuite('the simulator', async () => {
  const sim = await startTestSimulator();
  return {
    url: sim.url,
    sim,
    taskIdPattern: /^n[0-9a-f]{17}kie$/,
    async account(credits) {
      sim.setCredits(credits);
      return { apiKey: sim.apiKey, credits: async () => sim.credits() };
    },
    async complete(taskId, status) {
      sim.completeNow(taskId, status);
    },
    upstreamId: async (taskId) => taskId,
    async reset() {
      sim.setCredits(1_000_000);
    },
    stop: () => sim.stop(),
  };
});

let sim: SimulatorHandle;
let client: UpstreamClient;

beforeAll(async () => {
  sim = await startTestSimulator();
  client = clientFor(sim);
});
afterAll(async () => {
  await client.close();
  await sim.stop();
});
afterEach(() => {
  sim.clearFaults();
  sim.configure({ failureRate: 0, errorRate: 0, rateLimit: 0, latencyMs: '20-60' });
  sim.setCredits(1_000_000);
});

async function imageTask(): Promise<string> {
  const { taskId } = await client.generate('grok-imagine/text-to-image', { prompt: 'a source image' });
  sim.completeNow(taskId, 'SUCCESS');
  return taskId;
}

describe('the simulator keeps what it is asked', () => {
  it('records the model and the deduction on the task it creates', async () => {
    const { taskId } = await client.generate('grok-imagine/text-to-video', { prompt: 'x' });
    expect(sim.task(taskId)).toMatchObject({ model: 'grok-imagine/text-to-video', consumedCredits: 24 });
  });

  it('counts a rejected /generate once: rejections are not retried', async () => {
    const before = sim.counters().requests.generate?.['400'] ?? 0;
    await expectRejection(client.generate('grok-imagine/upscale', { taskId: 'missing' }), UpstreamRejectedError);
    expect(sim.counters().requests.generate?.['400']).toBe(before + 1);
  });

  it('counts a 401 once: a bad key is not retried', async () => {
    const bad = clientFor(sim, { apiKey: 'wrong' });
    const before = sim.counters().requests.generate?.['401'] ?? 0;
    await expectRejection(bad.generate('grok-imagine/text-to-image', { prompt: 'x' }), UpstreamAuthError);
    expect(sim.counters().requests.generate?.['401']).toBe(before + 1);
    await bad.close();
  });

  it('treats an unknown status value as IN_PROGRESS and keeps the raw value', async () => {
    const taskId = await imageTask();
    const body = JSON.stringify({ code: 200, message: 'success', data: { task_id: taskId, status: 'QUEUED', request: null, response: null, consumed_credits: 5, error_message: null, created_at: '2025-06-14T05:21:11Z' } });
    sim.failNext(1, 'malformed', { endpoint: 'status', body });
    const record = await client.status(taskId);
    expect(record).toMatchObject({ status: 'IN_PROGRESS', rawStatus: 'QUEUED' });
  });
});

describe('callbacks and the gallery', () => {
  it('counts each callback delivered', async () => {
    const receiver = await startCallbackReceiver();
    const before = sim.counters().callbacks.delivered;
    await client.generate('grok-imagine/text-to-image', { prompt: 'cb' }, { callbackUrl: receiver.url });
    await receiver.waitFor(1);
    await sim.callbacksIdle();
    expect(sim.counters().callbacks.delivered).toBe(before + 1);
    await receiver.close();
  });

  it('lists public tasks in the gallery, and only those', async () => {
    const pub = await client.generate('grok-imagine/text-to-image', { prompt: 'show me' }, { public: true });
    const priv = await client.generate('grok-imagine/text-to-image', { prompt: 'hide me' }, { public: false });
    sim.completeNow();
    const res = await raw(sim, '/gallery', { key: null });
    const ids = (res.json as { data: { items: Array<{ task_id: string }> } }).data.items.map((i) => i.task_id);
    expect(ids).toContain(pub.taskId);
    expect(ids).not.toContain(priv.taskId);
  });
});
