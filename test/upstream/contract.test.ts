// The contract page (shared/upstream/README.md), endpoint by endpoint, run
// against the simulator through the client (and raw HTTP where the client
// cannot say something wrong on purpose). The simulator reads the page on its
// own (src/simulator/contract.ts) and the gateway through its catalogue
// (src/catalog.ts): where both readings meet, a misreading on either side fails.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CATALOG, GENERATION_MODELS } from '../../src/catalog.ts';
import type { SimulatorHandle } from '../../src/simulator/server.ts';
import type { UpstreamClient } from '../../src/upstream/client.ts';
import {
  UpstreamAuthError,
  UpstreamCreditsError,
  UpstreamRejectedError,
  mayTaskExistUpstream,
} from '../../src/upstream/errors.ts';
import type { UpstreamInputByModel, UpstreamModel } from '../../src/upstream/models.ts';
import { clientFor, expectRejection, raw, startTestSimulator, waitDone } from './helpers.ts';

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

describe('POST /generate', () => {
  it("creates a task for every model, IN_PROGRESS, and deducts at creation what the gateway's catalogue says", async () => {
    const source = await imageTask();
    const inputs = {
      'grok-imagine/text-to-image': { prompt: 'A majestic dragon' },
      'grok-imagine/text-to-video': { prompt: 'A majestic dragon, flying' },
      'grok-imagine/image-to-video': { imageUrls: ['https://example.com/a.png'] },
      'grok-imagine/upscale': { taskId: source },
    } satisfies { [M in UpstreamModel]: UpstreamInputByModel[M] };
    for (const gatewayModel of GENERATION_MODELS) {
      const { upstreamName: model, upstreamCost } = CATALOG[gatewayModel];
      const before = sim.credits();
      const result = await client.generate(model, inputs[model]);
      expect(result.status).toBe('IN_PROGRESS');
      expect(result.taskId).toMatch(/^n[0-9a-f]{17}kie$/);
      expect(sim.task(result.taskId)?.model).toBe(model);
      expect(before - sim.credits(), `credits deducted for ${model}`).toBe(upstreamCost);
      expect(sim.task(result.taskId)?.consumedCredits).toBe(upstreamCost);
      expect((await client.status(result.taskId)).consumedCredits).toBe(upstreamCost);
    }
  });

  it('defaults the model to text-to-image', async () => {
    const res = await raw(sim, '/generate', { method: 'POST', body: JSON.stringify({ input: { prompt: 'x' } }) });
    expect(res.status).toBe(200);
    const data = (res.json as { data: { task_id: string } }).data;
    expect(sim.task(data.task_id)?.model).toBe('grok-imagine/text-to-image');
    expect(res.json).toMatchObject({ code: 200, message: 'success', data: { status: 'IN_PROGRESS' } });
  });

  it('accepts image-to-video from an earlier image task', async () => {
    const source = await imageTask();
    const { taskId } = await client.generate('grok-imagine/image-to-video', { taskId: source, prompt: 'make it move' });
    expect(sim.task(taskId)?.kind).toBe('video');
  });

  const rejects: Array<[string, unknown, RegExp]> = [
    ['a prompt for text-to-image', { model: 'grok-imagine/text-to-image', input: {} }, /prompt is required/],
    ['a prompt for text-to-video', { model: 'grok-imagine/text-to-video', input: { prompt: '  ' } }, /prompt is required/],
    ['prompts of at most 5000 characters', { input: { prompt: 'a'.repeat(5001) } }, /5001 characters; at most 5000/],
    ['a string prompt', { input: { prompt: 42 } }, /prompt must be a string/],
    ['image_urls or task_id for image-to-video', { model: 'grok-imagine/image-to-video', input: { prompt: 'x' } }, /image_urls or input.task_id is required/],
    ['URLs in image_urls', { model: 'grok-imagine/image-to-video', input: { image_urls: ['ftp://x'] } }, /image_urls\[0\]/],
    ['image_urls as an array', { model: 'grok-imagine/image-to-video', input: { image_urls: 'https://x' } }, /must be an array/],
    ['task_id for upscale', { model: 'grok-imagine/upscale', input: {} }, /task_id is required/],
    ['an existing task_id', { model: 'grok-imagine/upscale', input: { task_id: 'nope' } }, /does not exist/],
    ['a known model', { model: 'grok-imagine/text-to-music', input: { prompt: 'x' } }, /model must be one of/],
    ['an input object', { model: 'grok-imagine/text-to-image' }, /input is required/],
    ['an http callback_url', { input: { prompt: 'x' }, callback_url: 'not a url' }, /callback_url/],
    ['a boolean public', { input: { prompt: 'x' }, public: 'yes' }, /public must be a boolean/],
    ['a JSON object body', [1, 2], /must be a JSON object/],
  ];
  it.each(rejects)('requires %s (400 with the envelope, nothing charged)', async (_name, body, message) => {
    const before = sim.credits();
    const res = await raw(sim, '/generate', { method: 'POST', body: JSON.stringify(body) });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ code: 400, data: null });
    expect((res.json as { message: string }).message).toMatch(message);
    expect(sim.credits()).toBe(before);
  });

  it('counts the prompt limit in characters, not UTF-16 units', async () => {
    await expect(client.generate('grok-imagine/text-to-image', { prompt: '🐉'.repeat(5000) })).resolves.toBeDefined();
    await expect(client.generate('grok-imagine/text-to-image', { prompt: 'a'.repeat(5000) })).resolves.toBeDefined();
  });

  it('rejects invalid JSON', async () => {
    const res = await raw(sim, '/generate', { method: 'POST', body: '{"input":' });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ code: 400, message: 'request body is not valid JSON' });
  });

  it('surfaces rejections as UpstreamRejectedError with the upstream message, not retried', async () => {
    const before = sim.counters().requests.generate?.['400'] ?? 0;
    const err = await expectRejection(client.generate('grok-imagine/upscale', { taskId: 'missing' }), UpstreamRejectedError);
    expect(err.httpStatus).toBe(400);
    expect(err.upstreamMessage).toMatch(/does not exist/);
    expect(mayTaskExistUpstream(err)).toBe(false);
    expect(sim.counters().requests.generate?.['400']).toBe(before + 1);
  });

  it('requires the upscale source to have succeeded, and image-to-video sources to be images', async () => {
    sim.configure({ latencyMs: 10_000 });
    const pending = await client.generate('grok-imagine/text-to-image', { prompt: 'slow' });
    const e1 = await expectRejection(client.generate('grok-imagine/upscale', { taskId: pending.taskId }), UpstreamRejectedError);
    expect(e1.upstreamMessage).toMatch(/has not succeeded \(status IN_PROGRESS\)/);
    sim.completeNow(pending.taskId, 'FAILED');
    const e2 = await expectRejection(client.generate('grok-imagine/upscale', { taskId: pending.taskId }), UpstreamRejectedError);
    expect(e2.upstreamMessage).toMatch(/status FAILED/);
    const video = await client.generate('grok-imagine/text-to-video', { prompt: 'v' });
    sim.completeNow(video.taskId, 'SUCCESS');
    const e3 = await expectRejection(client.generate('grok-imagine/image-to-video', { taskId: video.taskId }), UpstreamRejectedError);
    expect(e3.upstreamMessage).toMatch(/is a video/);
    const up = await client.generate('grok-imagine/upscale', { taskId: video.taskId });
    expect(sim.task(up.taskId)?.kind).toBe('video');
  });
});

describe('GET or POST /status', () => {
  it('goes IN_PROGRESS then SUCCESS with resultUrls, credits and a sanitised request', async () => {
    const body = { model: 'grok-imagine/text-to-image', input: { prompt: 'dragon', secret_field: 'x' }, callback_url: 'http://127.0.0.1:1/cb?token=t', extra: 1 };
    const created = await raw(sim, '/generate', { method: 'POST', body: JSON.stringify(body) });
    const taskId = (created.json as { data: { task_id: string } }).data.task_id;
    const first = await client.status(taskId);
    expect(first.status).toBe('IN_PROGRESS');
    expect(first.resultUrls).toEqual([]);
    const done = await waitDone(client, taskId);
    expect(done).toMatchObject({ taskId, status: 'SUCCESS', rawStatus: 'SUCCESS', consumedCredits: 5, errorMessage: null });
    expect(done.resultUrls).toEqual([`${sim.origin}/files/${taskId}/0.png`]);
    expect(done.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(done.request).toEqual({ model: 'grok-imagine/text-to-image', input: { prompt: 'dragon' } });
  });

  it('answers the same record by GET query and POST body', async () => {
    const taskId = await imageTask();
    const viaGet = await raw(sim, `/status?task_id=${taskId}`);
    const viaPost = await raw(sim, '/status', { method: 'POST', body: JSON.stringify({ task_id: taskId }) });
    expect(viaGet.status).toBe(200);
    expect(viaPost.json).toEqual(viaGet.json);
    expect(viaGet.json).toMatchObject({ code: 200, message: 'success', data: { task_id: taskId, status: 'SUCCESS', response: { resultUrls: [expect.any(String)] } } });
  });

  it('requires task_id, and answers 404 for an unknown one', async () => {
    expect((await raw(sim, '/status')).status).toBe(400);
    expect((await raw(sim, '/status', { method: 'POST', body: '{}' })).json).toMatchObject({ code: 400, message: expect.stringMatching(/task_id is required/) });
    expect((await raw(sim, '/status', { method: 'POST', body: '{"task_id":5}' })).status).toBe(400);
    expect((await raw(sim, '/status?task_id=unknown')).json).toMatchObject({ code: 404, data: null });
    const err = await expectRejection(client.status('unknown'), UpstreamRejectedError);
    expect(err.httpStatus).toBe(404);
  });

  it('refunds a FAILED task: error_message set, consumed_credits 0, account credited back', async () => {
    sim.configure({ failureRate: 1 });
    const before = sim.credits();
    const { taskId } = await client.generate('grok-imagine/text-to-video', { prompt: 'doomed' });
    expect(sim.credits()).toBe(before - 24);
    const done = await waitDone(client, taskId);
    expect(done.status).toBe('FAILED');
    expect(done.consumedCredits).toBe(0);
    expect(done.errorMessage).toEqual(expect.any(String));
    expect(done.resultUrls).toEqual([]);
    expect(sim.credits()).toBe(before);
  });
});

describe('errors', () => {
  it('401 for a missing or wrong key, never retried', async () => {
    expect(await raw(sim, '/generate', { method: 'POST', body: '{}', key: null })).toMatchObject({ status: 401, json: { code: 401, data: null } });
    expect((await raw(sim, '/status?task_id=x', { key: 'wrong' })).status).toBe(401);
    const bad = clientFor(sim, { apiKey: 'wrong' });
    const before = sim.counters().requests.generate?.['401'] ?? 0;
    const err = await expectRejection(bad.generate('grok-imagine/text-to-image', { prompt: 'x' }), UpstreamAuthError);
    expect(err.attempts).toBe(1);
    expect(sim.counters().requests.generate?.['401']).toBe(before + 1);
    await expectRejection(bad.status('x'), UpstreamAuthError);
    await bad.close();
  });

  it('402 when the balance cannot cover the price; exactly enough is fine', async () => {
    sim.setCredits(4);
    const err = await expectRejection(client.generate('grok-imagine/text-to-image', { prompt: 'x' }), UpstreamCreditsError);
    expect(err.httpStatus).toBe(402);
    expect(mayTaskExistUpstream(err)).toBe(false);
    expect(sim.credits()).toBe(4);
    sim.setCredits(5);
    await client.generate('grok-imagine/text-to-image', { prompt: 'x' });
    expect(sim.credits()).toBe(0);
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
  it('POSTs the /status data to callback_url when a task completes', async () => {
    const { startCallbackReceiver } = await import('./helpers.ts');
    const receiver = await startCallbackReceiver();
    const before = sim.counters().callbacks.delivered;
    const { taskId } = await client.generate('grok-imagine/text-to-image', { prompt: 'cb' }, { callbackUrl: receiver.url });
    const [body] = await receiver.waitFor(1);
    expect(body).toMatchObject({ code: 200, message: 'success', data: { task_id: taskId, status: 'SUCCESS', consumed_credits: 5 } });
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
