import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.stop();
});

describe('tenant isolation', () => {
  it("tenant B's key reads nothing of tenant A", async () => {
    const a = await gw.createTenant('A', 50);
    const b = await gw.createTenant('B', 3);

    const meB = await gw.gql<{ me: { id: string; name: string; balance: { available: number }; apiKeys: { id: string }[] } }>(
      `{ me { id name balance { available } apiKeys { id } } }`,
      {},
      b.key,
    );
    expect(meB.data!.me).toMatchObject({ id: b.id, name: 'B', balance: { available: 3 } });
    expect(meB.data!.me.apiKeys.map((k) => k.id)).toEqual([b.keyId]);

    const entriesB = await gw.gql<{ ledgerEntries: { edges: { node: { amount: number } }[] } }>(
      `{ ledgerEntries(first: 50) { edges { node { amount } } } }`,
      {},
      b.key,
    );
    expect(entriesB.data!.ledgerEntries.edges.map((e) => e.node.amount)).toEqual([3]);

    // Admin-only ways in are closed to B, even with A's id in hand.
    const tenantA = await gw.gql(`query($id: ID!) { tenant(id: $id) { name } }`, { id: a.id }, b.key);
    expect(tenantA.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    expect(JSON.stringify(tenantA)).not.toContain('"A"');
    const topUpA = await gw.gql(
      `mutation($id: ID!) { topUpCredits(input: { tenantId: $id, amount: 5, idempotencyKey: "steal" }) { __typename } }`,
      { id: a.id },
      b.key,
    );
    expect(topUpA.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    // B's key may manage B's keys (MANAGE_KEYS); A's key is unknown to it, and keeps working.
    const revokeA = await gw.gql<{ revokeApiKey: { __typename: string; code?: string } }>(
      `mutation($id: ID!) { revokeApiKey(input: { id: $id }) { __typename ... on Error { code } } }`,
      { id: a.keyId },
      b.key,
    );
    expect(revokeA.data!.revokeApiKey).toEqual({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
    expect((await gw.gql(`{ me { id } }`, {}, a.key)).status).toBe(200);

    // node(id) is scoped: A's tenant, key and entries by their global ids are null to B, as unknown ids are.
    const entryA = (await gw.gql<{ ledgerEntries: { nodes: { id: string }[] } }>(`{ ledgerEntries(first: 1) { nodes { id } } }`, {}, a.key)).data!
      .ledgerEntries.nodes[0]!.id;
    for (const id of [a.id, a.keyId, entryA]) {
      const node = await gw.gql(`query($id: ID!) { node(id: $id) { id ... on Tenant { name } } }`, { id }, b.key);
      expect(node).toMatchObject({ data: { node: null } });
      expect(node.errors).toBeUndefined();
    }

    // A is untouched.
    const meA = await gw.gql<{ me: { balance: { available: number } } }>(`{ me { balance { available } } }`, {}, a.key);
    expect(meA.data!.me.balance.available).toBe(50);
  });
});
