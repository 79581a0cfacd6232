import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { success, type ResultUnion } from '../helpers/graphql.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.stop();
});

interface ErrorResult {
  __typename: string;
  code?: string;
  message?: string;
  field?: string | null;
}

const CREATE_TENANT = `mutation($name: String!) { createTenant(input: { name: $name }) {
  __typename
  ... on MutationCreateTenantSuccess { data { id name createdAt balance { available held } apiKeys { id } } }
  ... on Error { code message }
  ... on ValidationError { field } } }`;

const TOP_UP = `mutation($tenantId: ID!, $amount: Int!, $key: String!, $note: String) {
  topUpCredits(input: { tenantId: $tenantId, amount: $amount, idempotencyKey: $key, note: $note }) {
    __typename
    ... on MutationTopUpCreditsSuccess { data { id kind amount balanceAfter note createdAt } }
    ... on Error { code message } } }`;

type Entry = { id: string; kind: string; amount: number; balanceAfter: number; note: string | null };

describe('admin API over HTTP', () => {
  it('creates a tenant with an empty balance and no keys', async () => {
    const res = await gw.gql<{ createTenant: ResultUnion<{ id: string; name: string; balance: { available: number; held: number }; apiKeys: unknown[] }> }>(
      CREATE_TENANT,
      { name: 'Acme' },
    );
    expect(res.status).toBe(200);
    const tenant = success(res.data!.createTenant);
    expect(tenant.name).toBe('Acme');
    expect(tenant.balance).toEqual({ available: 0, held: 0 });
    expect(tenant.apiKeys).toEqual([]);
    // IDs are opaque: not the database uuid.
    expect(tenant.id).not.toMatch(/^[0-9a-f-]{36}$/);
  });

  it('rejects an empty tenant name with VALIDATION', async () => {
    const res = await gw.gql<{ createTenant: ErrorResult }>(CREATE_TENANT, { name: '   ' });
    expect(res.data!.createTenant).toMatchObject({ __typename: 'ValidationError', code: 'VALIDATION', field: ['name'] });
  });

  it('tops up idempotently and rejects conflicting and invalid top-ups without writing', async () => {
    const { id } = await gw.createTenant('topup');
    const first = await gw.gql<{ topUpCredits: ResultUnion<Entry> }>(TOP_UP, { tenantId: id, amount: 100, key: 'k1', note: 'welcome' });
    const entry = success(first.data!.topUpCredits);
    expect(entry).toMatchObject({ kind: 'TOP_UP', amount: 100, balanceAfter: 100, note: 'welcome' });

    const again = await gw.gql<{ topUpCredits: ResultUnion<Entry> }>(TOP_UP, { tenantId: id, amount: 100, key: 'k1' });
    expect(success(again.data!.topUpCredits).id).toBe(entry.id);

    const conflict = await gw.gql<{ topUpCredits: ErrorResult }>(TOP_UP, { tenantId: id, amount: 50, key: 'k1' });
    expect(conflict.data!.topUpCredits).toMatchObject({ __typename: 'IdempotencyConflictError', code: 'IDEMPOTENCY_CONFLICT' });

    for (const amount of [0, -5]) {
      const bad = await gw.gql<{ topUpCredits: ErrorResult }>(TOP_UP, { tenantId: id, amount, key: `bad${amount}` });
      expect(bad.data!.topUpCredits).toMatchObject({ __typename: 'ValidationError', code: 'VALIDATION' });
    }
    const emptyKey = await gw.gql<{ topUpCredits: ErrorResult }>(TOP_UP, { tenantId: id, amount: 5, key: '' });
    expect(emptyKey.data!.topUpCredits).toMatchObject({ code: 'VALIDATION' });

    const tenant = await gw.gql<{ tenant: { balance: { available: number } } }>(
      `query($id: ID!) { tenant(id: $id) { balance { available } } }`,
      { id },
    );
    expect(tenant.data!.tenant.balance.available).toBe(100);
    const transfers = await gw.deps.db.transfer.count({ where: { kind: 'TOP_UP' } });
    expect(transfers).toBeGreaterThanOrEqual(1);
  });

  it('answers NOT_FOUND for an unknown tenant id and VALIDATION for a malformed one, writing nothing', async () => {
    const unknown = Buffer.from('Tenant:00000000-0000-4000-8000-00000000abcd').toString('base64');
    const res = await gw.gql<{ topUpCredits: ErrorResult }>(TOP_UP, { tenantId: unknown, amount: 5, key: 'x' });
    expect(res.data!.topUpCredits).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
    const malformed = [
      'not-an-id',
      Buffer.from('ApiKey:00000000-0000-4000-8000-00000000abcd').toString('base64'), // another type's id
      Buffer.from('Tenant:x').toString('base64'), // not a uuid inside
    ];
    const transfers = await gw.deps.db.transfer.count();
    for (const tenantId of malformed) {
      const bad = await gw.gql<{ topUpCredits: ErrorResult }>(TOP_UP, { tenantId, amount: 5, key: 'x' });
      expect(bad.data!.topUpCredits).toMatchObject({ __typename: 'ValidationError', code: 'VALIDATION' });
    }
    expect(await gw.deps.db.transfer.count()).toBe(transfers);
    const read = await gw.gql<{ tenant: unknown }>(`query($id: ID!) { tenant(id: $id) { id } }`, { id: unknown });
    expect(read.data!.tenant).toBeNull();
    // A query has no result union: a malformed id is a top-level VALIDATION error, never a 500.
    for (const id of malformed) {
      const readBad = await gw.gql(`query($id: ID!) { tenant(id: $id) { id } }`, { id });
      expect(readBad.status).toBe(200);
      expect(readBad.errors?.[0]?.extensions?.code).toBe('VALIDATION');
    }
  });

  it('issues a key shown once, usable at once, and revocable', async () => {
    const { id } = await gw.createTenant('keys', 7);
    const issued = await gw.gql<{ issueApiKey: ResultUnion<{ secret: string; apiKey: { id: string; name: string; prefix: string; createdAt: string; lastUsedAt: string | null; revokedAt: string | null } }> }>(
      `mutation($id: ID!) { issueApiKey(input: { tenantId: $id, name: "ci" }) {
         __typename ... on MutationIssueApiKeySuccess { data { secret apiKey { id name prefix createdAt lastUsedAt revokedAt } } } } }`,
      { id },
    );
    const { secret, apiKey } = success(issued.data!.issueApiKey);
    expect(secret).toMatch(/^gk_[0-9A-Za-z]{43}$/);
    expect(secret.startsWith(apiKey.prefix)).toBe(true);
    expect(apiKey).toMatchObject({ name: 'ci', lastUsedAt: null, revokedAt: null });

    // Only the hash is stored.
    const stored = await gw.deps.db.apiKey.findMany();
    expect(JSON.stringify(stored)).not.toContain(secret);

    const me = await gw.gql<{ me: { name: string; balance: { available: number } } }>(`{ me { name balance { available } } }`, {}, secret);
    expect(me.data!.me).toEqual({ name: 'keys', balance: { available: 7 } });

    const listed = await gw.gql<{ tenant: { apiKeys: { id: string; prefix: string }[] } }>(
      `query($id: ID!) { tenant(id: $id) { apiKeys { id prefix } } }`,
      { id },
    );
    expect(listed.data!.tenant.apiKeys.map((k) => k.id)).toContain(apiKey.id);
    expect(JSON.stringify(listed)).not.toContain(secret);

    const revoked = await gw.gql<{ revokeApiKey: ResultUnion<{ revokedAt: string | null }> }>(
      `mutation($id: ID!) { revokeApiKey(input: { id: $id }) {
         __typename ... on MutationRevokeApiKeySuccess { data { revokedAt } } } }`,
      { id: apiKey.id },
    );
    expect(success(revoked.data!.revokeApiKey).revokedAt).not.toBeNull();

    const after = await gw.gql(`{ me { name } }`, {}, secret);
    expect(after.status).toBe(401);
    expect(after.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
  });

  it('answers NOT_FOUND for issuing a key to an unknown tenant and revoking an unknown key, VALIDATION for a malformed id', async () => {
    const unknownTenant = Buffer.from('Tenant:00000000-0000-4000-8000-00000000abcd').toString('base64');
    const issue = await gw.gql<{ issueApiKey: ErrorResult }>(
      `mutation($id: ID!) { issueApiKey(input: { tenantId: $id }) { __typename ... on Error { code } } }`,
      { id: unknownTenant },
    );
    expect(issue.data!.issueApiKey).toMatchObject({ code: 'NOT_FOUND' });
    const unknownKey = Buffer.from('ApiKey:00000000-0000-4000-8000-00000000abcd').toString('base64');
    const revoke = await gw.gql<{ revokeApiKey: ErrorResult }>(
      `mutation($id: ID!) { revokeApiKey(input: { id: $id }) { __typename ... on Error { code } } }`,
      { id: unknownKey },
    );
    expect(revoke.data!.revokeApiKey).toMatchObject({ code: 'NOT_FOUND' });
    const malformed = await gw.gql<{ revokeApiKey: ErrorResult }>(
      `mutation { revokeApiKey(input: { id: "bm9wZQ==" }) { __typename ... on Error { code } } }`,
    );
    expect(malformed.data!.revokeApiKey).toMatchObject({ code: 'VALIDATION' });
  });

  it('issues admin API keys that work like the admin token until revoked', async () => {
    const issued = await gw.gql<{ issueAdminApiKey: ResultUnion<{ secret: string; apiKey: { id: string } }> }>(
      `mutation { issueAdminApiKey(input: { name: "ops" }) {
         __typename ... on MutationIssueAdminApiKeySuccess { data { secret apiKey { id } } } } }`,
    );
    const { secret, apiKey } = success(issued.data!.issueAdminApiKey);
    expect(secret).toMatch(/^gka_/);
    const list = await gw.gql<{ tenants: { edges: unknown[] } }>(`{ tenants(first: 1) { edges { node { id } } } }`, {}, secret);
    expect(list.status).toBe(200);
    await gw.gql(`mutation($id: ID!) { revokeApiKey(input: { id: $id }) { __typename } }`, { id: apiKey.id });
    const denied = await gw.gql(`{ tenants(first: 1) { edges { node { id } } } }`, {}, secret);
    expect(denied.status).toBe(401);
  });

  it('sets default and per-tenant prices; tenants see their effective price', async () => {
    const a = await gw.createTenant('priced');
    const b = await gw.createTenant('default-priced');
    const prices = `{ prices { model credits } }`;
    const initial = await gw.gql<{ prices: { model: string; credits: number }[] }>(prices, {}, b.key);
    expect(initial.data!.prices).toEqual([
      { model: 'TEXT_TO_IMAGE', credits: 5 },
      { model: 'TEXT_TO_VIDEO', credits: 24 },
      { model: 'IMAGE_TO_VIDEO', credits: 24 },
      { model: 'UPSCALE', credits: 12 },
    ]);
    const SET = `mutation($model: GenerationModel!, $credits: Int!, $tenantId: ID) {
      setPrice(input: { model: $model, credits: $credits, tenantId: $tenantId }) {
        __typename ... on MutationSetPriceSuccess { data { model credits } } ... on Error { code } } }`;
    const set = await gw.gql<{ setPrice: ResultUnion<{ model: string; credits: number }> }>(SET, { model: 'UPSCALE', credits: 20 });
    expect(success(set.data!.setPrice)).toEqual({ model: 'UPSCALE', credits: 20 });
    await gw.gql(SET, { model: 'UPSCALE', credits: 15, tenantId: a.id });
    const negative = await gw.gql<{ setPrice: ErrorResult }>(SET, { model: 'UPSCALE', credits: -1 });
    expect(negative.data!.setPrice).toMatchObject({ code: 'VALIDATION' });

    const pa = await gw.gql<{ prices: { model: string; credits: number }[] }>(prices, {}, a.key);
    const pb = await gw.gql<{ prices: { model: string; credits: number }[] }>(prices, {}, b.key);
    expect(pa.data!.prices.find((p) => p.model === 'UPSCALE')!.credits).toBe(15);
    expect(pb.data!.prices.find((p) => p.model === 'UPSCALE')!.credits).toBe(20);
  });

  it('pages tenants as a Relay connection, newest first', async () => {
    for (let i = 0; i < 3; i++) await gw.createTenant(`page-${i}`);
    type Page = { tenants: { edges: { cursor: string; node: { name: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } };
    const Q = `query($after: String) { tenants(first: 2, after: $after) {
      edges { cursor node { name } } pageInfo { hasNextPage endCursor } } }`;
    const first = await gw.gql<Page>(Q);
    expect(first.data!.tenants.edges.map((e) => e.node.name)).toEqual(['page-2', 'page-1']);
    expect(first.data!.tenants.pageInfo.hasNextPage).toBe(true);
    const second = await gw.gql<Page>(Q, { after: first.data!.tenants.pageInfo.endCursor });
    expect(second.data!.tenants.edges[0]!.node.name).toBe('page-0');
  });

  it('lists ledger entries newest first with cursors', async () => {
    const t = await gw.createTenant('statement', 10);
    for (const [i, amount] of [5, 7, 9].entries()) {
      await gw.gql(TOP_UP, { tenantId: t.id, amount, key: `s${i}` });
    }
    type Page = { ledgerEntries: { edges: { node: Entry }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } };
    const Q = `query($after: String) { ledgerEntries(first: 2, after: $after) {
      edges { node { id kind amount balanceAfter note } } pageInfo { hasNextPage endCursor } } }`;
    const first = await gw.gql<Page>(Q, {}, t.key);
    expect(first.data!.ledgerEntries.edges.map((e) => [e.node.amount, e.node.balanceAfter])).toEqual([
      [9, 31],
      [7, 22],
    ]);
    const second = await gw.gql<Page>(Q, { after: first.data!.ledgerEntries.pageInfo.endCursor }, t.key);
    expect(second.data!.ledgerEntries.edges.map((e) => e.node.amount)).toEqual([5, 10]);
    expect(second.data!.ledgerEntries.pageInfo.hasNextPage).toBe(false);
  });
});

describe('authentication and authorisation', () => {
  it('answers 401 UNAUTHENTICATED without a token and with a bad one', async () => {
    for (const token of [null, 'gk_wrong']) {
      const res = await gw.gql(`{ me { id } }`, {}, token);
      expect(res.status).toBe(401);
      expect(res.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
    }
    const malformed = await fetch(gw.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Basic abc' },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    expect(malformed.status).toBe(401);
  });

  it('answers FORBIDDEN for a tenant key on admin fields and the admin token on tenant fields', async () => {
    const t = await gw.createTenant('forbidden');
    for (const q of [`{ tenants { edges { node { id } } } }`, `mutation { createTenant(input: { name: "x" }) { __typename } }`]) {
      const res = await gw.gql(q, {}, t.key);
      expect(res.errors![0]!.extensions!.code).toBe('FORBIDDEN');
      expect(res.status).toBe(403);
    }
    const me = await gw.gql(`{ me { id } }`, {}, ADMIN_TOKEN);
    expect(me.errors![0]!.extensions!.code).toBe('FORBIDDEN');
  });
});
