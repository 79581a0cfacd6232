import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { success, type ResultUnion } from '../helpers/graphql.ts';
import { balanceOf, generateOk } from '../helpers/tasks.ts';
import { collect, wsClient } from '../helpers/ws.ts';

// quote (a price and whether the balance covers it, holding nothing) and the
// low-balance threshold (Balance.low, on reads and on the live feed).

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.stop();
});

type Quote = { model: string; credits: number; available: number; affordable: boolean };

async function quote(key: string, model: string): Promise<Quote> {
  const res = await gw.gql<{ quote: Quote }>(`query($m: GenerationModel!) { quote(input: { model: $m }) { model credits available affordable } }`, { m: model }, key);
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data!.quote;
}

type Result = ResultUnion<{ available: number; held: number; low: boolean }> & { field?: string };

async function setThreshold(token: string, input: Record<string, unknown>): Promise<Result> {
  const res = await gw.gql<{ setLowBalanceThreshold: Result }>(
    `mutation($input: SetLowBalanceThresholdInput!) { setLowBalanceThreshold(input: $input) {
       __typename ... on Error { code message } ... on ValidationError { field }
       ... on MutationSetLowBalanceThresholdSuccess { data { available held low } } } }`,
    { input },
    token,
  );
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data!.setLowBalanceThreshold;
}

describe('quote', () => {
  it("gives the caller's own price and whether its available balance covers it, holding nothing", async () => {
    const t = await gw.createTenant('quoted', 12);
    await gw.gql(`mutation($id: ID!) { setPrice(input: { model: TEXT_TO_VIDEO, credits: 13, tenantId: $id }) { __typename } }`, { id: t.id });
    expect(await quote(t.key, 'TEXT_TO_IMAGE')).toEqual({ model: 'TEXT_TO_IMAGE', credits: 5, available: 12, affordable: true });
    expect(await quote(t.key, 'TEXT_TO_VIDEO')).toEqual({ model: 'TEXT_TO_VIDEO', credits: 13, available: 12, affordable: false });
    expect(await balanceOf(gw, t.key)).toEqual({ available: 12, held: 0 });
    // Exactly enough is affordable.
    await gw.gql(`mutation($id: ID!) { setPrice(input: { model: UPSCALE, credits: 12, tenantId: $id }) { __typename } }`, { id: t.id });
    expect((await quote(t.key, 'UPSCALE')).affordable).toBe(true);
  });

  it('is for tenants: an admin is FORBIDDEN, no key is UNAUTHENTICATED', async () => {
    const asAdmin = await gw.gql(`{ quote(input: { model: UPSCALE }) { credits } }`);
    expect(asAdmin.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const anonymous = await gw.gql(`{ quote(input: { model: UPSCALE }) { credits } }`, {}, null);
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('setLowBalanceThreshold and Balance.low', () => {
  it('a tenant sets its own; low is available below the threshold, on reads and on the live feed', async () => {
    const t = await gw.createTenant('low', 12);
    expect(success(await setThreshold(t.key, { credits: 10 }))).toEqual({ available: 12, held: 0, low: false });

    const client = wsClient(gw.graphqlUrl, t.key);
    try {
      const feed = collect<{ available: number; low: boolean }>(client, `subscription { balanceChanged { available held low } }`);
      // A subscription gets no acknowledgement: top up by 1 until the feed hears it.
      for (let i = 0; feed.items.length === 0; i++) {
        if (i === 20) throw new Error('the balance feed heard nothing');
        await gw.gql(`mutation($id: ID!, $k: String!) { topUpCredits(input: { tenantId: $id, amount: 1, idempotencyKey: $k }) { __typename } }`, {
          id: t.id,
          k: `live-${i}`,
        });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(feed.items.at(-1)).toMatchObject({ low: false });
      // The threshold at the balance now (not low: low is below it), then a charge of 5: low.
      const { available } = await balanceOf(gw, t.key);
      expect(success(await setThreshold(t.key, { credits: available })).low).toBe(false);
      await generateOk(gw, t.key, 'textToImage', { prompt: 'spend' });
      await vi.waitFor(() => expect(feed.items.at(-1)).toMatchObject({ low: true }));
      const me = await gw.gql<{ me: { balance: { low: boolean; available: number } } }>(`{ me { balance { available low } } }`, {}, t.key);
      expect(me.data!.me.balance.low).toBe(true);

      // A top-up past the threshold: no longer low.
      await gw.gql(`mutation($id: ID!) { topUpCredits(input: { tenantId: $id, amount: 100, idempotencyKey: "refill" }) { __typename } }`, { id: t.id });
      await vi.waitFor(() => expect(feed.items.at(-1)).toMatchObject({ low: false }));
    } finally {
      await client.dispose();
    }
  });

  it('exactly at the threshold is not low; null clears it; without one a zero balance is not low', async () => {
    const t = await gw.createTenant('edge', 10);
    expect(success(await setThreshold(t.key, { credits: 10 })).low).toBe(false);
    expect(success(await setThreshold(t.key, { credits: 11 })).low).toBe(true);
    expect(success(await setThreshold(t.key, { credits: null })).low).toBe(false);
    const broke = await gw.createTenant('broke', 0);
    const me = await gw.gql<{ me: { balance: { low: boolean } } }>(`{ me { balance { low } } }`, {}, broke.key);
    expect(me.data!.me.balance.low).toBe(false);
  });

  it("an admin sets any tenant's; a tenant cannot set another's; bad input is VALIDATION; each change is audited", async () => {
    const a = await gw.createTenant('a', 3);
    const b = await gw.createTenant('b', 3);
    expect(success(await setThreshold(ADMIN_TOKEN, { tenantId: a.id, credits: 5 })).low).toBe(true);
    expect(await setThreshold(b.key, { tenantId: a.id, credits: 0 })).toMatchObject({ code: 'NOT_FOUND' });
    const aRow = await gw.gql<{ tenant: { balance: { low: boolean } } }>(`query($id: ID!) { tenant(id: $id) { balance { low } } }`, { id: a.id });
    expect(aRow.data!.tenant.balance.low).toBe(true);
    expect(await setThreshold(ADMIN_TOKEN, { credits: 5 })).toMatchObject({ code: 'VALIDATION', field: ['tenantId'] });
    expect(await setThreshold(a.key, { credits: -1 })).toMatchObject({ code: 'VALIDATION', field: ['credits'] });

    const log = await gw.gql<{ auditLog: { edges: { node: { action: string; actor: { kind: string }; details: unknown } }[] } }>(
      `query($id: ID!) { auditLog(tenantId: $id, first: 10) { edges { node { action actor { kind } details } } } }`,
      { id: a.id },
    );
    const thresholds = log.data!.auditLog.edges.map((e) => e.node).filter((n) => n.action === 'balance.setLowThreshold');
    expect(thresholds).toEqual([{ action: 'balance.setLowThreshold', actor: { kind: 'ADMIN_TOKEN' }, details: { credits: 5 } }]);
  });
});
