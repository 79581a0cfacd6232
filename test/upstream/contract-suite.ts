// The contract page (shared/upstream/README.md), endpoint by endpoint, as one
// suite that runs against any target serving it: the simulator
// (test/upstream/contract.test.ts) and the gateway's REST facade
// (test/rest/contract.test.ts). It goes through the project's own upstream
// client, and raw HTTP where the client cannot say something wrong on purpose.
// A target says only where it is, how to get an account with a given balance,
// and how to end a task now; the simulator that does the work is either the
// target itself or the gateway's upstream.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CATALOG, GENERATION_MODELS } from '../../src/catalog.ts';
import type { SimulatorHandle } from '../../src/simulator/server.ts';
import type { UpstreamClient } from '../../src/upstream/client.ts';
import { UpstreamAuthError, UpstreamCreditsError, UpstreamRejectedError, mayTaskExistUpstream } from '../../src/upstream/errors.ts';
import type { UpstreamInputByModel, UpstreamModel } from '../../src/upstream/models.ts';
import { clientFor, expectRejection, startCallbackReceiver, waitDone } from './helpers.ts';

export interface ContractAccount {
  apiKey: string;
  /** The account's balance as the target keeps it. */
  credits(): Promise<number>;
}

export interface ContractTarget {
  /** Base URL, including /api where the target has it. */
  url: string;
  /** The simulator doing the work: configure its latency and failures through it. */
  sim: SimulatorHandle;
  /** What the target's task ids look like. */
  taskIdPattern: RegExp;
  /** A key whose account holds exactly `credits`. */
  account(credits: number): Promise<ContractAccount>;
  /** Ends a task now, as upstream would, and returns once the target's /status reports it ended. */
  complete(taskId: string, status: 'SUCCESS' | 'FAILED'): Promise<void>;
  /** The simulator's id for one of the target's tasks. */
  upstreamId(taskId: string): Promise<string>;
  /** After each test: the main account's balance back where it was, if a test moved it aside. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/** A raw request to the target, for what the client deliberately cannot send. */
async function rawTo(
  url: string,
  path: string,
  init: { method?: string; body?: string; key: string | null },
): Promise<{ status: number; json: unknown }> {
  const headers: Record<string, string> = {};
  if (init.key !== null) headers.authorization = `Bearer ${init.key}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url + path, { method: init.method ?? 'GET', headers, body: init.body });
  const text = await res.text();
  try {
    return { status: res.status, json: JSON.parse(text) };
  } catch {
    return { status: res.status, json: text };
  }
}

export function contractSuite(name: string, start: () => Promise<ContractTarget>): void {
  describe(`the upstream contract: ${name}`, () => {
    let target: ContractTarget;
    let account: ContractAccount;
    let client: UpstreamClient;
    const raw = (path: string, init: { method?: string; body?: string; key?: string | null } = {}) =>
      rawTo(target.url, path, { ...init, key: init.key === undefined ? account.apiKey : init.key });

    beforeAll(async () => {
      target = await start();
      account = await target.account(1_000_000);
      client = clientFor(target.sim, { baseUrl: target.url, apiKey: account.apiKey });
    });
    afterAll(async () => {
      await client?.close();
      await target?.stop();
    });
    afterEach(async () => {
      target.sim.clearFaults();
      target.sim.configure({ failureRate: 0, errorRate: 0, rateLimit: 0, latencyMs: '20-60' });
      await target.reset();
    });

    async function imageTask(): Promise<string> {
      const { taskId } = await client.generate('grok-imagine/text-to-image', { prompt: 'a source image' });
      await target.complete(taskId, 'SUCCESS');
      return taskId;
    }

    async function kindOf(taskId: string): Promise<string | undefined> {
      return target.sim.task(await target.upstreamId(taskId))?.kind;
    }

    describe('POST /generate', () => {
      it('creates a task for every model, IN_PROGRESS, and deducts at creation what the catalogue says', async () => {
        const source = await imageTask();
        const inputs = {
          'grok-imagine/text-to-image': { prompt: 'A majestic dragon' },
          'grok-imagine/text-to-video': { prompt: 'A majestic dragon, flying' },
          'grok-imagine/image-to-video': { imageUrls: ['https://example.com/a.png'] },
          'grok-imagine/upscale': { taskId: source },
        } satisfies { [M in UpstreamModel]: UpstreamInputByModel[M] };
        for (const gatewayModel of GENERATION_MODELS) {
          const { upstreamName: model, upstreamCost } = CATALOG[gatewayModel];
          const before = await account.credits();
          const result = await client.generate(model, inputs[model]);
          expect(result.status).toBe('IN_PROGRESS');
          expect(result.taskId).toMatch(target.taskIdPattern);
          expect(before - (await account.credits()), `credits deducted for ${model}`).toBe(upstreamCost);
          const record = await client.status(result.taskId);
          expect(record.request?.model).toBe(model);
          expect(record.consumedCredits).toBe(upstreamCost);
        }
      });

      it('defaults the model to text-to-image', async () => {
        const res = await raw('/generate', { method: 'POST', body: JSON.stringify({ input: { prompt: 'x' } }) });
        expect(res.status).toBe(200);
        expect(res.json).toMatchObject({ code: 200, message: 'success', data: { status: 'IN_PROGRESS' } });
        const data = (res.json as { data: { task_id: string } }).data;
        expect((await client.status(data.task_id)).request?.model).toBe('grok-imagine/text-to-image');
      });

      it('accepts image-to-video from an earlier image task', async () => {
        const source = await imageTask();
        const { taskId } = await client.generate('grok-imagine/image-to-video', { taskId: source, prompt: 'make it move' });
        expect(await kindOf(taskId)).toBe('video');
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
        const before = await account.credits();
        const res = await raw('/generate', { method: 'POST', body: JSON.stringify(body) });
        expect(res.status).toBe(400);
        expect(res.json).toMatchObject({ code: 400, data: null });
        expect((res.json as { message: string }).message).toMatch(message);
        expect(await account.credits()).toBe(before);
      });

      it('counts the prompt limit in characters, not UTF-16 units', async () => {
        await expect(client.generate('grok-imagine/text-to-image', { prompt: '🐉'.repeat(5000) })).resolves.toBeDefined();
        await expect(client.generate('grok-imagine/text-to-image', { prompt: 'a'.repeat(5000) })).resolves.toBeDefined();
      });

      it('rejects invalid JSON', async () => {
        const res = await raw('/generate', { method: 'POST', body: '{"input":' });
        expect(res.status).toBe(400);
        expect(res.json).toMatchObject({ code: 400, message: 'request body is not valid JSON' });
      });

      it('surfaces rejections as UpstreamRejectedError with the upstream message, not retried', async () => {
        const err = await expectRejection(client.generate('grok-imagine/upscale', { taskId: 'missing' }), UpstreamRejectedError);
        expect(err.httpStatus).toBe(400);
        expect(err.upstreamMessage).toMatch(/does not exist/);
        expect(err.attempts).toBe(1);
        expect(mayTaskExistUpstream(err)).toBe(false);
      });

      it('requires the upscale source to have succeeded, and image-to-video sources to be images', async () => {
        target.sim.configure({ latencyMs: 10_000 });
        const pending = await client.generate('grok-imagine/text-to-image', { prompt: 'slow' });
        const e1 = await expectRejection(client.generate('grok-imagine/upscale', { taskId: pending.taskId }), UpstreamRejectedError);
        expect(e1.upstreamMessage).toMatch(/has not succeeded \(status IN_PROGRESS\)/);
        await target.complete(pending.taskId, 'FAILED');
        const e2 = await expectRejection(client.generate('grok-imagine/upscale', { taskId: pending.taskId }), UpstreamRejectedError);
        expect(e2.upstreamMessage).toMatch(/status FAILED/);
        const video = await client.generate('grok-imagine/text-to-video', { prompt: 'v' });
        await target.complete(video.taskId, 'SUCCESS');
        const e3 = await expectRejection(client.generate('grok-imagine/image-to-video', { taskId: video.taskId }), UpstreamRejectedError);
        expect(e3.upstreamMessage).toMatch(/is a video/);
        const up = await client.generate('grok-imagine/upscale', { taskId: video.taskId });
        expect(await kindOf(up.taskId)).toBe('video');
      });
    });

    describe('GET or POST /status', () => {
      it('goes IN_PROGRESS then SUCCESS with resultUrls, credits and a sanitised request', async () => {
        const body = { model: 'grok-imagine/text-to-image', input: { prompt: 'dragon', secret_field: 'x' }, callback_url: 'http://127.0.0.1:1/cb?token=t', extra: 1 };
        const created = await raw('/generate', { method: 'POST', body: JSON.stringify(body) });
        const taskId = (created.json as { data: { task_id: string } }).data.task_id;
        const first = await client.status(taskId);
        expect(first.status).toBe('IN_PROGRESS');
        expect(first.resultUrls).toEqual([]);
        const done = await waitDone(client, taskId);
        expect(done).toMatchObject({ taskId, status: 'SUCCESS', rawStatus: 'SUCCESS', consumedCredits: 5, errorMessage: null });
        expect(done.resultUrls).toEqual([`${target.sim.origin}/files/${await target.upstreamId(taskId)}/0.png`]);
        expect(done.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        expect(done.request).toEqual({ model: 'grok-imagine/text-to-image', input: { prompt: 'dragon' } });
      });

      it('answers the same record by GET query and POST body', async () => {
        const taskId = await imageTask();
        const viaGet = await raw(`/status?task_id=${taskId}`);
        const viaPost = await raw('/status', { method: 'POST', body: JSON.stringify({ task_id: taskId }) });
        expect(viaGet.status).toBe(200);
        expect(viaPost.json).toEqual(viaGet.json);
        expect(viaGet.json).toMatchObject({ code: 200, message: 'success', data: { task_id: taskId, status: 'SUCCESS', response: { resultUrls: [expect.any(String)] } } });
      });

      it('requires task_id, and answers 404 for an unknown one', async () => {
        expect((await raw('/status')).status).toBe(400);
        expect((await raw('/status', { method: 'POST', body: '{}' })).json).toMatchObject({ code: 400, message: expect.stringMatching(/task_id is required/) });
        expect((await raw('/status', { method: 'POST', body: '{"task_id":5}' })).status).toBe(400);
        expect((await raw('/status?task_id=unknown')).json).toMatchObject({ code: 404, data: null });
        const err = await expectRejection(client.status('unknown'), UpstreamRejectedError);
        expect(err.httpStatus).toBe(404);
      });

      it('refunds a FAILED task: error_message set, consumed_credits 0, account credited back', async () => {
        target.sim.configure({ failureRate: 1 });
        const before = await account.credits();
        const { taskId } = await client.generate('grok-imagine/text-to-video', { prompt: 'doomed' });
        expect(await account.credits()).toBe(before - 24);
        const done = await waitDone(client, taskId);
        expect(done.status).toBe('FAILED');
        expect(done.consumedCredits).toBe(0);
        expect(done.errorMessage).toEqual(expect.any(String));
        expect(done.resultUrls).toEqual([]);
        expect(await account.credits()).toBe(before);
      });
    });

    describe('errors', () => {
      it('401 for a missing or wrong key, never retried', async () => {
        expect(await raw('/generate', { method: 'POST', body: '{}', key: null })).toMatchObject({ status: 401, json: { code: 401, data: null } });
        expect((await raw('/status?task_id=x', { key: 'wrong' })).status).toBe(401);
        const bad = clientFor(target.sim, { baseUrl: target.url, apiKey: 'wrong' });
        const err = await expectRejection(bad.generate('grok-imagine/text-to-image', { prompt: 'x' }), UpstreamAuthError);
        expect(err.attempts).toBe(1);
        await expectRejection(bad.status('x'), UpstreamAuthError);
        await bad.close();
      });

      it('402 when the balance cannot cover the price; exactly enough is fine', async () => {
        const short = await target.account(4);
        const shortClient = clientFor(target.sim, { baseUrl: target.url, apiKey: short.apiKey });
        const err = await expectRejection(shortClient.generate('grok-imagine/text-to-image', { prompt: 'x' }), UpstreamCreditsError);
        expect(err.httpStatus).toBe(402);
        expect(mayTaskExistUpstream(err)).toBe(false);
        expect(await short.credits()).toBe(4);
        await shortClient.close();
        const exact = await target.account(5);
        const exactClient = clientFor(target.sim, { baseUrl: target.url, apiKey: exact.apiKey });
        await exactClient.generate('grok-imagine/text-to-image', { prompt: 'x' });
        expect(await exact.credits()).toBe(0);
        await exactClient.close();
      });
    });

    describe('callbacks', () => {
      it('POSTs the /status response body to callback_url when a task completes', async () => {
        const receiver = await startCallbackReceiver();
        try {
          const { taskId } = await client.generate('grok-imagine/text-to-image', { prompt: 'cb' }, { callbackUrl: receiver.url });
          const [body] = await receiver.waitFor(1, 10_000);
          expect(body).toMatchObject({ code: 200, message: 'success', data: { task_id: taskId, status: 'SUCCESS', consumed_credits: 5 } });
          // The same `data` object /status answers.
          const status = (await raw(`/status?task_id=${taskId}`)).json as { data: unknown };
          expect((body as { data: unknown }).data).toEqual(status.data);
        } finally {
          await receiver.close();
        }
      });
    });
  });
}
