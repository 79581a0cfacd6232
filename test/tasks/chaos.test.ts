import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACCOUNTS } from '../../src/ledger/accounts.ts';
import { verifyLedger } from '../../src/ledger/verify.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { balanceOf, generate, waitForEnd } from '../helpers/tasks.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    SIMULATOR_FAILURE_RATE: '0.3',
    SIMULATOR_ERROR_RATE: '0.2',
    SIMULATOR_RATE_LIMIT: '150',
    SIMULATOR_SEED: '42',
    SIMULATOR_LATENCY_MS: '50-400',
    UPSTREAM_RETRY_DEADLINE_MS: '10000',
  });
});
afterAll(async () => {
  await gw?.stop();
});

describe('chaos: failures, 500s and rate limiting at once', () => {
  it('200 tasks across 5 tenants all end, and every credit is accounted for', async () => {
    const tenants = await Promise.all(Array.from({ length: 5 }, (_, i) => gw.createTenant(`chaos-${i}`, 2000)));
    const models = ['textToImage', 'textToVideo'] as const;
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => {
        const t = tenants[i % 5]!;
        return generate(gw, t.key, models[i % 2]!, { prompt: `chaos ${i}` }).then((r) => ({ t, r }));
      }),
    );
    const accepted = results.filter(({ r }) => r.__typename.endsWith('Success'));
    const refused = results.filter(({ r }) => !r.__typename.endsWith('Success'));
    // Refusals are only the upstream's doing, and typed.
    for (const { r } of refused) expect(['UPSTREAM_UNAVAILABLE', 'RATE_LIMITED']).toContain(r.code);
    expect(accepted.length).toBeGreaterThan(100);

    const ended = await Promise.all(accepted.map(({ t, r }) => waitForEnd(gw, t.key, r.data!.id, 60_000)));
    expect(ended.filter((t) => t.status === 'FAILED').length).toBeGreaterThan(0);
    expect(ended.filter((t) => t.status === 'SUCCESS').length).toBeGreaterThan(0);
    for (const task of ended) expect(task.refunded).toBe(task.status === 'FAILED');

    const db = gw.deps.db;
    for (const t of tenants) {
      const tenantId = Buffer.from(t.id, 'base64').toString().split(':')[1]!;
      const sums = await db.transfer.groupBy({ by: ['kind'], where: { tenantId }, _sum: { amount: true } });
      const sum = (kind: string) => sums.find((s) => s.kind === kind)?._sum.amount ?? 0;
      const balance = await balanceOf(gw, t.key);
      expect(balance.held).toBe(0);
      expect(balance.available).toBe(sum('TOP_UP') - sum('CHARGE') + sum('REFUND'));
    }

    // What we mirrored of upstream equals what the simulator says it consumed.
    const spend = await db.$queryRaw<{ net: number }[]>`
      SELECT COALESCE(SUM(amount), 0)::int AS net FROM entry WHERE account_id = ${SYSTEM_ACCOUNTS.UPSTREAM_SPEND}::uuid`;
    expect(spend[0]!.net).toBe(gw.simulator.counters().consumedCredits);
    const charges = await db.transfer.aggregate({ where: { kind: 'CHARGE' }, _sum: { amount: true } });
    const refunds = await db.transfer.aggregate({ where: { kind: 'REFUND' }, _sum: { amount: true } });
    expect((charges._sum.amount ?? 0) - (refunds._sum.amount ?? 0)).toBe(gw.simulator.counters().consumedCredits);
    expect(await verifyLedger(db)).toEqual([]);
  }, 120_000);
});
