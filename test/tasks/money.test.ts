import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyLedger } from '../../src/ledger/verify.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { balanceOf, generate, generateOk, getTask, waitForEnd } from '../helpers/tasks.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ TENANT_MAX_IN_FLIGHT: '1000', TENANT_RATE_PER_MINUTE: '100000' });
});
afterAll(async () => {
  await gw?.stop();
});

describe('idempotency', () => {
  it('50 racing requests with one key and one input make one task, charged once', async () => {
    const t = await gw.createTenant('idem', 100);
    const results = await Promise.all(
      Array.from({ length: 50 }, () => generate(gw, t.key, 'textToImage', { prompt: 'once', idempotencyKey: 'k-1' })),
    );
    expect(results.every((r) => r.__typename === 'MutationTextToImageSuccess')).toBe(true);
    expect(new Set(results.map((r) => r.data!.id)).size).toBe(1);
    await waitForEnd(gw, t.key, results[0]!.data!.id);
    expect(await balanceOf(gw, t.key)).toEqual({ available: 95, held: 0 });
    expect(await gw.deps.db.task.count({ where: { idempotencyKey: 'k-1' } })).toBe(1);
  });

  it('the same key with a different input is IDEMPOTENCY_CONFLICT and charges nothing', async () => {
    const t = await gw.createTenant('idem-conflict', 100);
    await generateOk(gw, t.key, 'textToImage', { prompt: 'first', idempotencyKey: 'k-2' });
    const before = await balanceOf(gw, t.key);
    const conflict = await generate(gw, t.key, 'textToImage', { prompt: 'second', idempotencyKey: 'k-2' });
    expect(conflict.code).toBe('IDEMPOTENCY_CONFLICT');
    const otherModel = await generate(gw, t.key, 'textToVideo', { prompt: 'first', idempotencyKey: 'k-2' });
    expect(otherModel.code).toBe('IDEMPOTENCY_CONFLICT');
    expect(await balanceOf(gw, t.key)).toEqual(before);
  });

  it('keys are per tenant', async () => {
    const a = await gw.createTenant('idem-a', 10);
    const b = await gw.createTenant('idem-b', 10);
    const ta = await generateOk(gw, a.key, 'textToImage', { prompt: 'x', idempotencyKey: 'shared' });
    const tb = await generateOk(gw, b.key, 'textToImage', { prompt: 'y', idempotencyKey: 'shared' });
    expect(ta.id).not.toBe(tb.id);
  });
});

describe('no overspend', () => {
  it('300 concurrent textToImage against a balance covering 37 are accepted exactly 37 times', async () => {
    const t = await gw.createTenant('overspend', 37 * 5);
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) => generate(gw, t.key, 'textToImage', { prompt: `race ${i}` })),
    );
    const accepted = results.filter((r) => r.__typename === 'MutationTextToImageSuccess');
    const refused = results.filter((r) => r.__typename !== 'MutationTextToImageSuccess');
    expect(accepted).toHaveLength(37);
    expect(new Set(refused.map((r) => r.code))).toEqual(new Set(['INSUFFICIENT_CREDITS']));
    await Promise.all(accepted.map((r) => waitForEnd(gw, t.key, r.data!.id)));
    expect(await balanceOf(gw, t.key)).toEqual({ available: 0, held: 0 });
    expect(await verifyLedger(gw.deps.db)).toEqual([]);
  });
});

describe('tenant isolation', () => {
  it('task, tasks and sourceTaskId never reach another tenant', async () => {
    const a = await gw.createTenant('iso-a', 50);
    const b = await gw.createTenant('iso-b', 50);
    const aTask = await waitForEnd(gw, a.key, (await generateOk(gw, a.key, 'textToImage', { prompt: 'private' })).id);
    expect(await getTask(gw, b.key, aTask.id)).toBeNull();
    const listed = await gw.gql<{ tasks: { edges: { node: { id: string } }[] } }>(`{ tasks(first: 100) { edges { node { id } } } }`, {}, b.key);
    expect(listed.data!.tasks.edges).toEqual([]);
    for (const mutation of ['upscale', 'imageToVideo'] as const) {
      const stolen = await generate(gw, b.key, mutation, { sourceTaskId: aTask.id });
      expect(stolen.code).toBe('NOT_FOUND');
    }
    expect(await balanceOf(gw, b.key)).toEqual({ available: 50, held: 0 });
    // A's view is intact.
    expect((await getTask(gw, a.key, aTask.id))!.status).toBe('SUCCESS');
  });

  it('tasks filters by status and model and pages newest first', async () => {
    const t = await gw.createTenant('listing', 200);
    const made = [];
    for (let i = 0; i < 3; i++) made.push(await generateOk(gw, t.key, 'textToImage', { prompt: `img ${i}` }));
    const video = await generateOk(gw, t.key, 'textToVideo', { prompt: 'vid' });
    await Promise.all([...made, video].map((task) => waitForEnd(gw, t.key, task.id)));
    type Page = { tasks: { edges: { node: { id: string } }[]; pageInfo: { endCursor: string; hasNextPage: boolean } } };
    const Q = `query($after: String, $model: GenerationModel, $status: TaskStatus) {
      tasks(first: 2, after: $after, model: $model, status: $status) { edges { node { id } } pageInfo { endCursor hasNextPage } } }`;
    const images = await gw.gql<Page>(Q, { model: 'TEXT_TO_IMAGE', status: 'SUCCESS' }, t.key);
    expect(images.data!.tasks.edges.map((e) => e.node.id)).toEqual([made[2]!.id, made[1]!.id]);
    const next = await gw.gql<Page>(Q, { model: 'TEXT_TO_IMAGE', after: images.data!.tasks.pageInfo.endCursor }, t.key);
    expect(next.data!.tasks.edges.map((e) => e.node.id)).toEqual([made[0]!.id]);
    const failed = await gw.gql<Page>(Q, { status: 'FAILED' }, t.key);
    expect(failed.data!.tasks.edges).toEqual([]);
  });
});
