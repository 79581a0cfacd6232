import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { balanceOf, generate, generateOk, waitForEnd } from '../helpers/tasks.ts';

let gw: TestGateway;
let tenant: { id: string; key: string };
let imageTaskId: string;
let videoTaskId: string;
beforeAll(async () => {
  gw = await startTestGateway();
  tenant = await gw.createTenant('validation', 1000);
  imageTaskId = (await waitForEnd(gw, tenant.key, (await generateOk(gw, tenant.key, 'textToImage', { prompt: 'src' })).id)).id;
  videoTaskId = (await waitForEnd(gw, tenant.key, (await generateOk(gw, tenant.key, 'textToVideo', { prompt: 'vid' })).id)).id;
});
afterAll(async () => {
  await gw?.stop();
});

const unknownTask = Buffer.from('Task:00000000-0000-4000-8000-000000000abc').toString('base64');

describe('every validation error, and nothing written on any of them', () => {
  const cases: [string, 'textToImage' | 'textToVideo' | 'imageToVideo' | 'upscale', () => Record<string, unknown>, string][] = [
    ['empty prompt', 'textToImage', () => ({ prompt: '   ' }), 'VALIDATION'],
    ['prompt over 5000 characters', 'textToVideo', () => ({ prompt: 'x'.repeat(5001) }), 'VALIDATION'],
    ['neither imageUrls nor sourceTaskId', 'imageToVideo', () => ({ prompt: 'p' }), 'VALIDATION'],
    ['both imageUrls and sourceTaskId', 'imageToVideo', () => ({ imageUrls: ['https://example.com/a.png'], sourceTaskId: imageTaskId }), 'VALIDATION'],
    ['a non-http URL', 'imageToVideo', () => ({ imageUrls: ['ftp://example.com/a.png'] }), 'VALIDATION'],
    ['a private-address URL', 'imageToVideo', () => ({ imageUrls: ['http://10.0.0.7/a.png'] }), 'VALIDATION'],
    ['a loopback URL', 'imageToVideo', () => ({ imageUrls: ['http://127.0.0.1/a.png'] }), 'VALIDATION'],
    ['a metadata-address callbackUrl', 'textToImage', () => ({ prompt: 'p', callbackUrl: 'http://169.254.169.254/latest' }), 'VALIDATION'],
    ['an empty idempotency key', 'textToImage', () => ({ prompt: 'p', idempotencyKey: '' }), 'VALIDATION'],
    ['a source that is a video, for image-to-video', 'imageToVideo', () => ({ sourceTaskId: videoTaskId }), 'VALIDATION'],
    ['an unknown source task', 'upscale', () => ({ sourceTaskId: unknownTask }), 'NOT_FOUND'],
    ['a malformed source id', 'upscale', () => ({ sourceTaskId: 'garbage' }), 'VALIDATION'],
    ['a source id of another type', 'upscale', () => ({ sourceTaskId: Buffer.from('Tenant:00000000-0000-4000-8000-000000000abc').toString('base64') }), 'VALIDATION'],
  ];

  it.each(cases)('%s', async (_name, mutation, input, code) => {
    const before = await gw.deps.db.transfer.count();
    const holds = await gw.deps.db.hold.count();
    const tasks = await gw.deps.db.task.count();
    const result = await generate(gw, tenant.key, mutation, input());
    expect(result.__typename).not.toMatch(/Success$/);
    expect(result.code).toBe(code);
    expect(result.message).toBeTruthy();
    expect(await gw.deps.db.transfer.count()).toBe(before);
    expect(await gw.deps.db.hold.count()).toBe(holds);
    expect(await gw.deps.db.task.count()).toBe(tasks);
  });

  it('a source task that has not succeeded yet is SOURCE_NOT_READY', async () => {
    gw.simulator.configure({ latencyMs: 60_000 });
    try {
      const pending = await generateOk(gw, tenant.key, 'textToImage', { prompt: 'slow' });
      const before = await balanceOf(gw, tenant.key);
      const result = await generate(gw, tenant.key, 'upscale', { sourceTaskId: pending.id });
      expect(result.code).toBe('SOURCE_NOT_READY');
      expect(await balanceOf(gw, tenant.key)).toEqual(before);
    } finally {
      gw.simulator.configure({ latencyMs: '30-80' });
      gw.simulator.completeNow();
    }
  });

  it('an upstream rejection is VALIDATION and releases the hold', async () => {
    // A source that upstream no longer knows: it answers 400.
    const source = await waitForEnd(gw, tenant.key, (await generateOk(gw, tenant.key, 'textToImage', { prompt: 'gone' })).id);
    const uuid = Buffer.from(source.id, 'base64').toString().split(':')[1]!;
    await gw.deps.db.task.update({ where: { id: uuid }, data: { upstreamTaskId: 'unknown-upstream-id' } });
    const before = await balanceOf(gw, tenant.key);
    const result = await generate(gw, tenant.key, 'upscale', { sourceTaskId: source.id });
    expect(result.code).toBe('VALIDATION');
    expect(result.message).toMatch(/^Upstream rejected the request/);
    expect(await balanceOf(gw, tenant.key)).toEqual(before);
  });
});
