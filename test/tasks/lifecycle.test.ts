import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyLedger } from '../../src/ledger/verify.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { balanceOf, generateOk, waitForEnd } from '../helpers/tasks.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.stop();
});

async function ledgerKinds(key: string): Promise<[string, number][]> {
  const res = await gw.gql<{ ledgerEntries: { edges: { node: { kind: string; amount: number } }[] } }>(
    `{ ledgerEntries(first: 50) { edges { node { kind amount } } } }`,
    {},
    key,
  );
  return res.data!.ledgerEntries.edges.map((e) => [e.node.kind, e.node.amount]);
}

describe('each model end to end', () => {
  it('text-to-image: submitted, charged its price, followed to SUCCESS, result served as a PNG', async () => {
    const t = await gw.createTenant('e2e-image', 100);
    const task = await generateOk(gw, t.key, 'textToImage', { prompt: 'a red fox in snow' });
    expect(task).toMatchObject({ model: 'TEXT_TO_IMAGE', status: 'IN_PROGRESS', creditsCharged: 5, refunded: false });
    expect(await balanceOf(gw, t.key)).toEqual({ available: 95, held: 0 });

    const done = await waitForEnd(gw, t.key, task.id);
    expect(done).toMatchObject({ status: 'SUCCESS', refunded: false, errorMessage: null });
    expect(done.completedAt).not.toBeNull();
    expect(done.resultUrls).toHaveLength(1);
    const file = await fetch(done.resultUrls[0]!);
    expect(file.headers.get('content-type')).toBe('image/png');
    const bytes = Buffer.from(await file.arrayBuffer());
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));

    expect(await ledgerKinds(t.key)).toEqual([
      ['CHARGE', -5],
      ['TOP_UP', 100],
    ]);
    expect(await balanceOf(gw, t.key)).toEqual({ available: 95, held: 0 });
  });

  it('text-to-video, image-to-video (from a task and from URLs) and upscale', async () => {
    const t = await gw.createTenant('e2e-all', 200);
    const image = await waitForEnd(gw, t.key, (await generateOk(gw, t.key, 'textToImage', { prompt: 'a lighthouse' })).id);
    expect(image.status).toBe('SUCCESS');

    const video = await generateOk(gw, t.key, 'textToVideo', { prompt: 'waves at night' });
    const fromTask = await generateOk(gw, t.key, 'imageToVideo', { sourceTaskId: image.id, prompt: 'slow zoom' });
    const fromUrls = await generateOk(gw, t.key, 'imageToVideo', { imageUrls: ['https://example.com/cat.png'] });
    const upscaled = await generateOk(gw, t.key, 'upscale', { sourceTaskId: image.id });
    expect(fromTask.sourceTask).toEqual({ id: image.id });
    expect(upscaled.sourceTask).toEqual({ id: image.id });
    expect(fromUrls.imageUrls).toEqual(['https://example.com/cat.png']);

    for (const [task, price, type] of [
      [video, 24, 'video/mp4'],
      [fromTask, 24, 'video/mp4'],
      [fromUrls, 24, 'video/mp4'],
      [upscaled, 12, 'image/png'],
    ] as const) {
      expect(task.creditsCharged).toBe(price);
      const done = await waitForEnd(gw, t.key, task.id);
      expect(done.status).toBe('SUCCESS');
      const file = await fetch(done.resultUrls[0]!);
      expect(file.status).toBe(200);
      expect(file.headers.get('content-type')).toBe(type);
    }
    expect(await balanceOf(gw, t.key)).toEqual({ available: 200 - 5 - 24 * 3 - 12, held: 0 });
    expect(await verifyLedger(gw.deps.db)).toEqual([]);
  });

  it('charges the tenant its own price while mirroring the upstream cost, so margin is a query', async () => {
    const t = await gw.createTenant('reseller', 50);
    await gw.gql(`mutation($id: ID!) { setPrice(input: { model: TEXT_TO_IMAGE, credits: 8, tenantId: $id }) { __typename } }`, { id: t.id });
    const task = await generateOk(gw, t.key, 'textToImage', { prompt: 'priced' });
    expect(task.creditsCharged).toBe(8);
    await waitForEnd(gw, t.key, task.id);
    const admin = await gw.gql<{ tenant: { tasks: { edges: { node: { creditsCharged: number; admin: { upstreamCredits: number } } }[] } } }>(
      `query($id: ID!) { tenant(id: $id) { tasks(first: 5) { edges { node { creditsCharged admin { upstreamCredits } } } } } }`,
      { id: t.id },
    );
    expect(admin.data!.tenant.tasks.edges[0]!.node).toEqual({ creditsCharged: 8, admin: { upstreamCredits: 5 } });
    // Tenants cannot see upstream costs: the admin-only part of a task is null for them, and the same fragment works.
    const own = await gw.gql(`query($id: ID!) { task(id: $id) { creditsCharged admin { upstreamCredits } } }`, { id: task.id }, t.key);
    expect(own.errors).toBeUndefined();
    expect(own.data).toEqual({ task: { creditsCharged: 8, admin: null } });

    const margin = await gw.deps.db.$queryRaw<{ margin: number }[]>`
      SELECT SUM(CASE WHEN kind IN ('CHARGE', 'UPSTREAM_REFUND') THEN amount ELSE -amount END)::int AS margin
      FROM transfer WHERE reference = ${`task:${Buffer.from(task.id, 'base64').toString().split(':')[1]}`}`;
    expect(margin[0]!.margin).toBe(3);
  });
});

describe('failures are refunded exactly once', () => {
  it('with failure rate 1 every task fails and the balance returns to where it started', async () => {
    const t = await gw.createTenant('always-fails', 300);
    gw.simulator.configure({ failureRate: 1 });
    try {
      const tasks = await Promise.all(
        Array.from({ length: 10 }, (_, i) => generateOk(gw, t.key, i % 2 ? 'textToVideo' : 'textToImage', { prompt: `doomed ${i}` })),
      );
      const ended = await Promise.all(tasks.map((task) => waitForEnd(gw, t.key, task.id)));
      for (const task of ended) {
        expect(task).toMatchObject({ status: 'FAILED', refunded: true });
        expect(task.errorMessage).toBeTruthy();
      }
      await gw.simulator.callbacksIdle();
      expect(await balanceOf(gw, t.key)).toEqual({ available: 300, held: 0 });
      const kinds = await ledgerKinds(t.key);
      expect(kinds.filter(([k]) => k === 'REFUND')).toHaveLength(10);
      expect(kinds.filter(([k]) => k === 'CHARGE')).toHaveLength(10);
      expect(await verifyLedger(gw.deps.db)).toEqual([]);
    } finally {
      gw.simulator.configure({ failureRate: 0 });
    }
  });

  it('concurrent settlements of one task (callback, polls, a second poller) refund once', async () => {
    const t = await gw.createTenant('race-settle', 50);
    gw.simulator.configure({ failureRate: 1, latencyMs: 5000 });
    try {
      const task = await generateOk(gw, t.key, 'textToImage', { prompt: 'race' });
      const row = await gw.deps.db.task.findFirstOrThrow({ where: { upstreamTaskId: { not: null }, tenant: { name: 'race-settle' } } });
      gw.simulator.completeNow(row.upstreamTaskId!);
      // Many settlers at once: the poller's pollNow from several "processes".
      const { pollTask } = await import('../../src/tasks/follow.ts');
      await Promise.all(Array.from({ length: 20 }, () => pollTask(gw.deps.tasks, row)));
      const done = await waitForEnd(gw, t.key, task.id);
      expect(done.status).toBe('FAILED');
      expect(await gw.deps.db.transfer.count({ where: { kind: 'REFUND', tenantId: row.tenantId } })).toBe(1);
      expect(await balanceOf(gw, t.key)).toEqual({ available: 50, held: 0 });
      expect(await verifyLedger(gw.deps.db)).toEqual([]);
    } finally {
      gw.simulator.configure({ failureRate: 0, latencyMs: '30-80' });
    }
  });
});
