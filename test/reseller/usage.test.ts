import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { rowId } from '../helpers/graphql.ts';
import { generateOk, waitForEnd } from '../helpers/tasks.ts';

// usageReport over real HTTP: rows by day × tenant × model that add up to
// the ledger's own transfers, margin for admins only.

let gw: TestGateway;
beforeAll(async () => {
  // Half the tasks fail upstream and are refunded on both sides.
  gw = await startTestGateway({ SIMULATOR_FAILURE_RATE: '0.5', SIMULATOR_SEED: '7' });
});
afterAll(async () => {
  await gw?.stop();
});

interface Row {
  day: string;
  tenant: { id: string; name: string };
  model: string;
  tasks: number;
  succeeded: number;
  failed: number;
  creditsCharged: number;
  creditsRefunded: number;
  upstreamCredits: number | null;
  margin: number | null;
}

const ROW = 'day tenant { id name } model tasks succeeded failed creditsCharged creditsRefunded admin { upstreamCredits margin }';

/** The report, with each row's admin-only part (null for a tenant key) spread into it. */
async function report(token: string | undefined, input: Record<string, unknown>) {
  type Raw = Omit<Row, 'upstreamCredits' | 'margin'> & { admin: { upstreamCredits: number; margin: number } | null };
  const res = await gw.gql<{ usageReport: Raw[] }>(`query($input: UsageReportInput!) { usageReport(input: $input) { ${ROW} } }`, { input }, token);
  const rows = res.data?.usageReport.map(({ admin, ...r }): Row => ({ ...r, upstreamCredits: admin?.upstreamCredits ?? null, margin: admin?.margin ?? null }));
  return { ...res, data: res.data && { usageReport: rows! } };
}

const DAY = 86_400_000;
const window = () => ({ from: new Date(Date.now() - DAY).toISOString(), to: new Date(Date.now() + DAY).toISOString() });

async function ledgerSum(tenantIds: string[], kind: string): Promise<number> {
  const sum = await gw.deps.db.transfer.aggregate({ where: { tenantId: { in: tenantIds }, kind: kind as never }, _sum: { amount: true } });
  return sum._sum.amount ?? 0;
}

describe('usageReport', () => {
  it('rows add up to the ledger; margin is charged − refunded − what upstream kept; tenants see their own, without cost or margin', async () => {
    const a = await gw.createTenant('usage-a', 1000);
    const b = await gw.createTenant('usage-b', 1000);
    // A markup for a: its margin is positive on every task that is kept.
    await gw.gql(`mutation($id: ID!) { setPrice(input: { model: TEXT_TO_IMAGE, credits: 8, tenantId: $id }) { __typename } }`, { id: a.id });
    const ids: [string, string][] = [];
    for (let i = 0; i < 8; i++) ids.push([a.key, (await generateOk(gw, a.key, 'textToImage', { prompt: `a ${i}` })).id]);
    for (let i = 0; i < 3; i++) ids.push([a.key, (await generateOk(gw, a.key, 'textToVideo', { prompt: `v ${i}` })).id]);
    for (let i = 0; i < 5; i++) ids.push([b.key, (await generateOk(gw, b.key, 'textToImage', { prompt: `b ${i}` })).id]);
    const ended = await Promise.all(ids.map(([key, id]) => waitForEnd(gw, key, id)));
    expect(ended.some((task) => task.status === 'FAILED')).toBe(true);
    expect(ended.some((task) => task.status === 'SUCCESS')).toBe(true);

    const res = await report(undefined, window());
    expect(res.errors).toBeUndefined();
    const rows = res.data!.usageReport.filter((r) => [a.id, b.id].includes(r.tenant.id));
    expect(rows.map((r) => `${r.tenant.name} ${r.model}`).sort()).toEqual([
      'usage-a TEXT_TO_IMAGE',
      'usage-a TEXT_TO_VIDEO',
      'usage-b TEXT_TO_IMAGE',
    ]);
    const tenants = [rowId(a.id), rowId(b.id)];
    const total = (key: keyof Row) => rows.reduce((sum, r) => sum + (r[key] as number), 0);
    expect(total('tasks')).toBe(16);
    expect(total('succeeded') + total('failed')).toBe(16);
    expect(total('failed')).toBe(ended.filter((t) => t.status === 'FAILED').length);
    expect(total('creditsCharged')).toBe(await ledgerSum(tenants, 'CHARGE'));
    expect(total('creditsRefunded')).toBe(await ledgerSum(tenants, 'REFUND'));
    expect(total('upstreamCredits')).toBe((await ledgerSum(tenants, 'UPSTREAM_CHARGE')) - (await ledgerSum(tenants, 'UPSTREAM_REFUND')));
    for (const r of rows) expect(r.margin).toBe(r.creditsCharged - r.creditsRefunded - r.upstreamCredits!);
    const aImages = rows.find((r) => r.tenant.id === a.id && r.model === 'TEXT_TO_IMAGE')!;
    expect(aImages.creditsCharged).toBe(8 * 8);
    expect(aImages.margin).toBe(3 * aImages.succeeded);
    expect(aImages.day).toBe(new Date().toISOString().slice(0, 10));

    // One tenant, asked by an admin.
    const onlyB = await report(undefined, { ...window(), tenantId: b.id });
    expect(onlyB.data!.usageReport.map((r) => r.tenant.id)).toEqual([b.id]);

    // The tenant itself: its own rows, no upstream cost or margin.
    const own = await report(a.key, window());
    expect(own.data!.usageReport.map((r) => r.model)).toEqual(['TEXT_TO_IMAGE', 'TEXT_TO_VIDEO']);
    for (const r of own.data!.usageReport) {
      expect(r.tenant.id).toBe(a.id);
      expect(r.upstreamCredits).toBeNull();
      expect(r.margin).toBeNull();
    }
    expect((await report(a.key, { ...window(), tenantId: a.id })).data!.usageReport).toHaveLength(2);
    const foreign = await report(a.key, { ...window(), tenantId: b.id });
    expect(foreign.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(foreign.data).toBeNull();
  });

  it('a window without tasks is empty; a reversed or too long window is VALIDATION', async () => {
    const t = await gw.createTenant('usage-window', 100);
    await generateOk(gw, t.key, 'textToImage', { prompt: 'today' });
    const future = { from: new Date(Date.now() + DAY).toISOString(), to: new Date(Date.now() + 2 * DAY).toISOString() };
    expect((await report(t.key, future)).data!.usageReport).toEqual([]);
    const reversed = await report(t.key, { from: future.to, to: future.from });
    expect(reversed.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION' });
    const long = await report(undefined, { from: '2020-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' });
    expect(long.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION' });
    // Before the year 1 PostgreSQL cannot convert (the fuzz suite found a 500): refused as input.
    for (const from of ['0000-12-31T23:59:59.999Z', '-271821-04-20T00:00:00.000Z']) {
      const ancient = await report(t.key, { from, to: '0001-01-01T00:00:00.000Z' });
      expect(ancient.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION' });
    }
    expect((await report(t.key, { from: '0001-01-01T00:00:00.000Z', to: '0001-06-01T00:00:00.000Z' })).data!.usageReport).toEqual([]);
    const anonymous = await report(null as unknown as string, window());
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
