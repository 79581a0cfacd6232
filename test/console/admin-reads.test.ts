// What the console's tenant page reads as an admin, over the API itself: a
// tenant's ledger statement (`ledgerEntries(tenantId:)`) and its balance
// live (`balanceChanged(tenantId:)` over graphql-ws). Tenant keys keep
// reading only their own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { collect, wsClient } from '../helpers/ws.ts';

let gw: TestGateway;
let a: { id: string; key: string };
let b: { id: string; key: string };

beforeAll(async () => {
  gw = await startTestGateway();
  a = await gw.createTenant('a', 300);
  b = await gw.createTenant('b', 40);
});
afterAll(async () => {
  await gw.stop();
});

const LEDGER = `query($tenantId: ID, $after: String) { ledgerEntries(tenantId: $tenantId, first: 1, after: $after) {
  edges { node { kind amount balanceAfter } } pageInfo { hasNextPage endCursor } } }`;
type Ledger = { ledgerEntries: { edges: { node: { kind: string; amount: number; balanceAfter: number } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } };

describe('ledgerEntries(tenantId:)', () => {
  it("gives an admin the named tenant's statement, page by page", async () => {
    const topUp = await gw.gql(`mutation($id: ID!) { topUpCredits(input: { tenantId: $id, amount: 7, idempotencyKey: "second" }) { __typename } }`, { id: a.id });
    expect(topUp.errors).toBeUndefined();
    const first = await gw.gql<Ledger>(LEDGER, { tenantId: a.id });
    expect(first.errors).toBeUndefined();
    expect(first.data!.ledgerEntries.edges.map((e) => e.node)).toEqual([{ kind: 'TOP_UP', amount: 7, balanceAfter: 307 }]);
    expect(first.data!.ledgerEntries.pageInfo.hasNextPage).toBe(true);
    const second = await gw.gql<Ledger>(LEDGER, { tenantId: a.id, after: first.data!.ledgerEntries.pageInfo.endCursor });
    expect(second.data!.ledgerEntries.edges.map((e) => e.node)).toEqual([{ kind: 'TOP_UP', amount: 300, balanceAfter: 300 }]);
    expect(second.data!.ledgerEntries.pageInfo.hasNextPage).toBe(false);
  });

  it('asks an admin to name the tenant (VALIDATION)', async () => {
    const res = await gw.gql<Ledger>(LEDGER, {});
    expect(res.errors?.[0]?.extensions?.code).toBe('VALIDATION');
  });

  it('gives a tenant key its own statement, with or without its id, and not another tenant’s (NOT_FOUND)', async () => {
    const own = await gw.gql<Ledger>(LEDGER, {}, b.key);
    const named = await gw.gql<Ledger>(LEDGER, { tenantId: b.id }, b.key);
    expect(own.data!.ledgerEntries.edges.map((e) => e.node.amount)).toEqual([40]);
    expect(named.data).toEqual(own.data);
    const other = await gw.gql<Ledger>(LEDGER, { tenantId: a.id }, b.key);
    expect(other.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(JSON.stringify(other.data ?? null)).not.toContain('300');
  });
});

describe('balanceChanged(tenantId:)', () => {
  it("lets an admin follow a tenant's balance: its current value, then each change", async () => {
    const client = wsClient(gw.graphqlUrl, ADMIN_TOKEN);
    try {
      const feed = collect<{ available: number; held: number }>(client, 'subscription($t: ID!) { balanceChanged(tenantId: $t) { available held } }', { t: b.id });
      await feed.next(1);
      await gw.gql(`mutation($id: ID!) { topUpCredits(input: { tenantId: $id, amount: 5, idempotencyKey: "live" }) { __typename } }`, { id: b.id });
      const items = await feed.next(2);
      expect(items).toEqual([
        { available: 40, held: 0 },
        { available: 45, held: 0 },
      ]);
      expect(feed.errors).toEqual([]);
      feed.stop();
    } finally {
      await client.dispose();
    }
  });

  it("refuses a tenant key another tenant's balance (NOT_FOUND)", async () => {
    const client = wsClient(gw.graphqlUrl, b.key);
    try {
      const feed = collect(client, 'subscription($t: ID!) { balanceChanged(tenantId: $t) { available } }', { t: a.id });
      await feed.done;
      expect(feed.items).toEqual([]);
      expect(JSON.stringify(feed.errors)).toContain('NOT_FOUND');
    } finally {
      await client.dispose();
    }
  });
});
