import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOG } from '../../src/catalog.ts';
import { verifyLedger } from '../../src/ledger/verify.ts';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { rowId, success, type ResultUnion } from '../helpers/graphql.ts';
import { balanceOf, generate, waitForEnd } from '../helpers/tasks.ts';

// A key's credit limit (issueApiKey creditLimit + creditLimitPeriod): counted
// in the submit statement after the account row, so concurrent requests
// through one key never take it past its limit; given back when a task ends
// unpaid; shared by the key's rotations and the keys it issues. Over real HTTP.

const PRICE = CATALOG.TEXT_TO_IMAGE.defaultPrice;

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ TENANT_RATE_PER_MINUTE: '100000', TENANT_REQUESTS_PER_MINUTE: '1000000', SIMULATOR_LATENCY_MS: '600000' });
});
afterAll(async () => {
  await gw?.stop();
});

type Issued = { secret: string; apiKey: { id: string; creditLimit: number | null; creditLimitPeriod: string | null; creditLimitSpent: number | null } };
type Result<T> = ResultUnion<T> & { field?: string; limit?: number; period?: string; remaining?: number };

const KEY_FIELDS = 'id creditLimit creditLimitPeriod creditLimitSpent';

async function issue(token: string, input: Record<string, unknown>): Promise<Result<Issued>> {
  const res = await gw.gql<{ issueApiKey: Result<Issued> }>(
    `mutation($input: IssueApiKeyInput!) { issueApiKey(input: $input) {
       __typename ... on Error { code message } ... on ValidationError { field }
       ... on MutationIssueApiKeySuccess { data { secret apiKey { ${KEY_FIELDS} } } } } }`,
    { input },
    token,
  );
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data!.issueApiKey;
}

/** A key as an admin reads it: its tenant's `apiKeys`. */
async function keyView(tenantId: string, keyId: string): Promise<Issued['apiKey']> {
  const res = await gw.gql<{ tenant: { apiKeys: Issued['apiKey'][] } }>(
    `query($id: ID!) { tenant(id: $id) { apiKeys { ${KEY_FIELDS} } } }`,
    { id: tenantId },
  );
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data!.tenant.apiKeys.find((k) => k.id === keyId)!;
}

async function image(key: string): Promise<Result<{ id: string }>> {
  return generate(gw, key, 'textToImage', { prompt: 'a lighthouse' }) as Promise<Result<{ id: string }>>;
}

describe('a key credit limit across concurrent requests', () => {
  it('never overshoots: 12 racing requests through a key allowing k, for many rounds', async () => {
    const t = await gw.createTenant('limit-race', 1_000_000);
    let expectedSpent = 0;
    for (let round = 0; round < 10; round++) {
      const k = (round % 5) + 1;
      // An odd limit: k prices and a little, never enough for one more.
      const key = success(await issue(ADMIN_TOKEN, { tenantId: t.id, creditLimit: k * PRICE + PRICE - 1, creditLimitPeriod: 'DAY' }));
      const results = await Promise.all(Array.from({ length: 12 }, () => image(key.secret)));
      const ok = results.filter((r) => r.__typename === 'MutationTextToImageSuccess');
      const refused = results.filter((r) => r.__typename !== 'MutationTextToImageSuccess');
      expect(ok).toHaveLength(k);
      expect(refused).toHaveLength(12 - k);
      for (const r of refused) expect(r).toMatchObject({ __typename: 'KeyLimitExceededError', code: 'KEY_LIMIT_EXCEEDED' });
      expect((await keyView(t.id, key.apiKey.id)).creditLimitSpent).toBe(k * PRICE);
      expectedSpent += k * PRICE;
    }
    // Nothing held for a refused request: the tenant paid for exactly the accepted ones.
    const balance = await balanceOf(gw, t.key);
    expect(1_000_000 - balance.available).toBe(expectedSpent);
    expect(balance.held + (await chargedOf(t.id))).toBe(expectedSpent);
    expect(await gw.deps.db.hold.count({ where: { tenantId: rowId(t.id) } })).toBe(expectedSpent / PRICE);
    expect(await verifyLedger(gw.deps.db)).toEqual([]);
  });

  it('answers the limit, its period and what is left in this window', async () => {
    const t = await gw.createTenant('limit-message', 10_000);
    const key = success(await issue(ADMIN_TOKEN, { tenantId: t.id, creditLimit: PRICE + 1, creditLimitPeriod: 'MONTH' }));
    success(await image(key.secret));
    const refused = await gw.gql<{ textToImage: Result<unknown> }>(
      `mutation { textToImage(input: { prompt: "x" }) { __typename ... on Error { code message }
         ... on KeyLimitExceededError { limit period remaining } } }`,
      {},
      key.secret,
    );
    expect(refused.data!.textToImage).toMatchObject({ code: 'KEY_LIMIT_EXCEEDED', limit: PRICE + 1, period: 'MONTH', remaining: 1 });
    expect(refused.data!.textToImage.message).toMatch(/credit limit/);
    // Another key of the same tenant is not limited by it.
    success(await image(t.key));
  });
});

describe('what shares a limit', () => {
  it("a rotated key counts against the same limit as the key it replaced", async () => {
    const t = await gw.createTenant('limit-rotate', 10_000);
    const key = success(await issue(ADMIN_TOKEN, { tenantId: t.id, creditLimit: 2 * PRICE, creditLimitPeriod: 'DAY' }));
    success(await image(key.secret));
    const res = await gw.gql<{ rotateApiKey: Result<{ secret: string; apiKey: Issued['apiKey'] }> }>(
      `mutation($id: ID!) { rotateApiKey(input: { keyId: $id, gracePeriodSeconds: 60 }) {
         __typename ... on MutationRotateApiKeySuccess { data { secret apiKey { ${KEY_FIELDS} } } } } }`,
      { id: key.apiKey.id },
    );
    const rotated = success(res.data!.rotateApiKey);
    expect(rotated.apiKey).toMatchObject({ creditLimit: 2 * PRICE, creditLimitPeriod: 'DAY', creditLimitSpent: PRICE });
    success(await image(rotated.secret));
    expect(await image(key.secret)).toMatchObject({ code: 'KEY_LIMIT_EXCEEDED' });
    expect(await image(rotated.secret)).toMatchObject({ code: 'KEY_LIMIT_EXCEEDED' });
  });

  it('a limited key with MANAGE_KEYS issues keys under its own limit, and cannot give them another', async () => {
    const t = await gw.createTenant('limit-issuer', 10_000);
    const manager = success(await issue(ADMIN_TOKEN, { tenantId: t.id, creditLimit: PRICE, creditLimitPeriod: 'DAY' }));
    const own = await issue(manager.secret, { tenantId: t.id, creditLimit: 1_000_000, creditLimitPeriod: 'DAY' });
    expect(own).toMatchObject({ code: 'VALIDATION', field: ['creditLimit'] });
    const child = success(await issue(manager.secret, { tenantId: t.id }));
    expect(child.apiKey).toMatchObject({ creditLimit: PRICE, creditLimitPeriod: 'DAY', creditLimitSpent: 0 });
    success(await image(child.secret));
    expect(await image(manager.secret)).toMatchObject({ code: 'KEY_LIMIT_EXCEEDED' });
    // An unlimited tenant key gives whatever limit it likes.
    const free = success(await issue(t.key, { tenantId: t.id, creditLimit: 3 * PRICE, creditLimitPeriod: 'MONTH' }));
    expect(free.apiKey).toMatchObject({ creditLimit: 3 * PRICE, creditLimitPeriod: 'MONTH' });
  });
});

describe('windows and validation', () => {
  it('a new UTC window starts from zero', async () => {
    const t = await gw.createTenant('limit-window', 10_000);
    const key = success(await issue(ADMIN_TOKEN, { tenantId: t.id, creditLimit: PRICE, creditLimitPeriod: 'DAY' }));
    success(await image(key.secret));
    expect(await image(key.secret)).toMatchObject({ code: 'KEY_LIMIT_EXCEEDED' });
    // Yesterday's count, as if the day had turned since.
    const limitId = (await gw.deps.db.apiKey.findUniqueOrThrow({ where: { id: rowId(key.apiKey.id) } })).creditLimitId!;
    await gw.deps.db.keyCreditLimit.update({ where: { id: limitId }, data: { windowStart: new Date(Date.now() - 2 * 86_400_000) } });
    expect((await keyView(t.id, key.apiKey.id)).creditLimitSpent).toBe(0);
    success(await image(key.secret));
    expect(await gw.deps.db.keyCreditLimit.findUniqueOrThrow({ where: { id: limitId } })).toMatchObject({ spent: PRICE });
  });

  it('refuses a limit without its period, a period without a limit, and a limit below 1, creating nothing', async () => {
    const t = await gw.createTenant('limit-validation', 0);
    expect(await issue(ADMIN_TOKEN, { tenantId: t.id, creditLimit: 10 })).toMatchObject({ code: 'VALIDATION', field: ['creditLimit'] });
    expect(await issue(ADMIN_TOKEN, { tenantId: t.id, creditLimitPeriod: 'DAY' })).toMatchObject({ code: 'VALIDATION', field: ['creditLimit'] });
    expect(await issue(ADMIN_TOKEN, { tenantId: t.id, creditLimit: 0, creditLimitPeriod: 'DAY' })).toMatchObject({ code: 'VALIDATION' });
    expect(await gw.deps.db.keyCreditLimit.count({ where: { tenantId: rowId(t.id) } })).toBe(0);
    expect(await gw.deps.db.apiKey.count({ where: { tenantId: rowId(t.id) } })).toBe(1);
  });

  it('the audit log records the limit a key was issued with', async () => {
    const t = await gw.createTenant('limit-audit', 0);
    const key = success(await issue(ADMIN_TOKEN, { tenantId: t.id, creditLimit: 77, creditLimitPeriod: 'MONTH' }));
    const event = await gw.deps.db.auditEvent.findFirstOrThrow({ where: { tenantId: rowId(t.id), action: 'apiKey.issue', details: { path: ['keyId'], equals: rowId(key.apiKey.id) } } });
    expect(event.details).toMatchObject({ creditLimit: { credits: 77, period: 'MONTH' } });
  });
});

describe('a task that ends unpaid gives its credits back', () => {
  let failing: TestGateway;
  beforeAll(async () => {
    failing = await startTestGateway({ SIMULATOR_FAILURE_RATE: '1', SIMULATOR_LATENCY_MS: '50' });
  });
  afterAll(async () => {
    await failing?.stop();
  });

  it('a failed, refunded task frees its place under the limit, once', async () => {
    const t = await failing.createTenant('limit-refund', 10_000);
    const issued = await failing.gql<{ issueApiKey: Result<Issued> }>(
      `mutation($id: ID!) { issueApiKey(input: { tenantId: $id, creditLimit: ${PRICE}, creditLimitPeriod: DAY }) {
         __typename ... on MutationIssueApiKeySuccess { data { secret apiKey { ${KEY_FIELDS} } } } } }`,
      { id: t.id },
    );
    const key = success(issued.data!.issueApiKey);
    for (let i = 0; i < 3; i++) {
      const task = success(await generate(failing, key.secret, 'textToImage', { prompt: `fails ${i}` }));
      expect(await waitForEnd(failing, key.secret, task.id)).toMatchObject({ status: 'FAILED', refunded: true });
    }
    const limit = await failing.deps.db.keyCreditLimit.findFirstOrThrow({ where: { tenantId: rowId(t.id) } });
    expect(limit.spent).toBe(0);
    expect(await balanceOf(failing, t.key)).toEqual({ available: 10_000, held: 0 });
    expect(await verifyLedger(failing.deps.db)).toEqual([]);
  });
});

async function chargedOf(tenantId: string): Promise<number> {
  const rows = await gw.deps.db.transfer.aggregate({ where: { tenantId: rowId(tenantId), kind: 'CHARGE' }, _sum: { amount: true } });
  return rows._sum.amount ?? 0;
}
