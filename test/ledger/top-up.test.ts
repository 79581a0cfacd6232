import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { verifyLedger } from '../../src/ledger/verify.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.stop();
});

describe('top-up idempotency under concurrency', () => {
  it('20 concurrent identical top-ups write one entry', async () => {
    const t = await gw.createTenant('concurrent');
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        gw.gql<{ topUpCredits: { __typename: string; data?: { id: string } } }>(
          `mutation($id: ID!) { topUpCredits(input: { tenantId: $id, amount: 25, idempotencyKey: "same" }) {
             __typename ... on MutationTopUpCreditsSuccess { data { id } } } }`,
          { id: t.id },
        ),
      ),
    );
    const ids = responses.map((r) => r.data!.topUpCredits.data?.id);
    expect(ids.every((id) => id !== undefined)).toBe(true);
    expect(new Set(ids).size).toBe(1);
    const me = await gw.gql<{ me: { balance: { available: number } } }>(`{ me { balance { available } } }`, {}, t.key);
    expect(me.data!.me.balance.available).toBe(25);
    expect(await gw.deps.db.transfer.count({ where: { idempotencyKey: 'same' } })).toBe(1);
    expect(await verifyLedger(gw.deps.db)).toEqual([]);
  });
});
