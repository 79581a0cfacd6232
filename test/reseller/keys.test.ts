import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { rowId, success, type ResultUnion } from '../helpers/graphql.ts';
import { generate } from '../helpers/tasks.ts';
import { collect, wsClient } from '../helpers/ws.ts';

// API keys as a reseller manages them: expiry, scopes, rotation with a grace
// period, and a tenant key with MANAGE_KEYS managing its own tenant's keys,
// never another's. Over real HTTP (and WebSocket for a rotated key's socket).

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.stop();
});

type Issued = { secret: string; apiKey: { id: string; prefix: string; scopes: string[]; expiresAt: string | null } };
type Result<T> = ResultUnion<T> & { field?: string };

async function issue(token: string, input: Record<string, unknown>): Promise<Result<Issued>> {
  const res = await gw.gql<{ issueApiKey: Result<Issued> }>(
    `mutation($input: IssueApiKeyInput!) { issueApiKey(input: $input) {
       __typename ... on Error { code message } ... on ValidationError { field }
       ... on MutationIssueApiKeySuccess { data { secret apiKey { id prefix scopes expiresAt } } } } }`,
    { input },
    token,
  );
  if (res.errors) return { __typename: 'TopLevel', code: res.errors[0]!.extensions?.code as string, message: res.errors[0]!.message };
  return res.data!.issueApiKey;
}

type Rotated = { secret: string; oldKeyExpiresAt: string; apiKey: { id: string; name: string | null; scopes: string[]; rotatedFrom: { id: string } | null } };

async function rotate(token: string, keyId: string, gracePeriodSeconds: number): Promise<Result<Rotated>> {
  const res = await gw.gql<{ rotateApiKey: Result<Rotated> }>(
    `mutation($id: ID!, $grace: Int!) { rotateApiKey(input: { keyId: $id, gracePeriodSeconds: $grace }) {
       __typename ... on Error { code message } ... on ValidationError { field }
       ... on MutationRotateApiKeySuccess { data { secret oldKeyExpiresAt apiKey { id name scopes rotatedFrom { id } } } } } }`,
    { id: keyId, grace: gracePeriodSeconds },
    token,
  );
  if (res.errors) return { __typename: 'TopLevel', code: res.errors[0]!.extensions?.code as string, message: res.errors[0]!.message };
  return res.data!.rotateApiKey;
}

async function meStatus(key: string): Promise<number> {
  return (await gw.gql(`{ me { id } }`, {}, key)).status;
}

describe('expiresAt', () => {
  it('a key works until it expires, then is refused like a revoked one (401)', async () => {
    const t = await gw.createTenant('expiring', 0);
    const key = success(await issue(ADMIN_TOKEN, { tenantId: t.id, expiresAt: new Date(Date.now() + 1500).toISOString() }));
    expect(key.apiKey.expiresAt).not.toBeNull();
    expect(await meStatus(key.secret)).toBe(200);
    await expect.poll(() => meStatus(key.secret), { timeout: 5000, interval: 200 }).toBe(401);
    const res = await gw.gql(`{ me { id } }`, {}, key.secret);
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('an expiry in the past is VALIDATION, and so is one past the year 9999 (the fuzz suite found a 500)', async () => {
    const t = await gw.createTenant('past', 0);
    expect(await issue(ADMIN_TOKEN, { tenantId: t.id, expiresAt: '2020-01-01T00:00:00Z' })).toMatchObject({ code: 'VALIDATION', field: ['expiresAt'] });
    expect(await issue(ADMIN_TOKEN, { tenantId: t.id, expiresAt: '+010000-01-01T00:00:00.000Z' })).toMatchObject({ code: 'VALIDATION' });
    expect(success(await issue(ADMIN_TOKEN, { tenantId: t.id, expiresAt: '9999-12-31T23:59:59.999Z' })).apiKey.expiresAt).toBe(
      '9999-12-31T23:59:59.999Z',
    );
    expect(await gw.deps.db.apiKey.count({ where: { tenantId: rowId(t.id) } })).toBe(2);
  });

  it('revoking answers the whole key, its scopes and expiry included (the fuzz suite found a 500)', async () => {
    const t = await gw.createTenant('revoked-whole', 0);
    const key = success(await issue(ADMIN_TOKEN, { tenantId: t.id, scopes: ['READ'], expiresAt: '2099-01-01T00:00:00.000Z' }));
    const res = await gw.gql<{ revokeApiKey: Result<{ revokedAt: string; scopes: string[]; expiresAt: string }> }>(
      `mutation($id: ID!) { revokeApiKey(input: { id: $id }) { __typename ... on MutationRevokeApiKeySuccess { data { revokedAt scopes expiresAt } } } }`,
      { id: key.apiKey.id },
    );
    expect(res.errors).toBeUndefined();
    expect(success(res.data!.revokeApiKey)).toMatchObject({ scopes: ['READ'], expiresAt: '2099-01-01T00:00:00.000Z' });
  });
});

describe('scopes', () => {
  it('default to all; a key without GENERATE cannot generate, without READ cannot read: FORBIDDEN naming its scopes', async () => {
    const t = await gw.createTenant('scoped', 100);
    expect(success(await issue(ADMIN_TOKEN, { tenantId: t.id })).apiKey.scopes).toEqual(['GENERATE', 'READ', 'MANAGE_KEYS', 'WEBHOOKS']);
    const readOnly = success(await issue(ADMIN_TOKEN, { tenantId: t.id, scopes: ['READ'] }));
    const generateOnly = success(await issue(ADMIN_TOKEN, { tenantId: t.id, scopes: ['GENERATE'] }));

    const refused = await gw.gql(`mutation { textToImage(input: { prompt: "x" }) { __typename } }`, {}, readOnly.secret);
    expect(refused.status).toBe(403);
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(refused.errors?.[0]?.message).toContain('READ');
    expect(await gw.deps.db.task.count({ where: { tenantId: rowId(t.id) } })).toBe(0);
    expect((await gw.gql(`{ me { balance { available } } }`, {}, readOnly.secret)).status).toBe(200);

    expect(await generate(gw, generateOnly.secret, 'textToImage', { prompt: 'ok' })).toMatchObject({ __typename: 'MutationTextToImageSuccess' });
    const noRead = await gw.gql(`{ tasks(first: 5) { edges { node { id } } } }`, {}, generateOnly.secret);
    expect(noRead.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const noWebhooks = await gw.gql(`{ webhookDeliveries(first: 5) { edges { node { id } } } }`, {}, generateOnly.secret);
    expect(noWebhooks.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // Subscriptions are reads.
    const client = wsClient(gw.graphqlUrl, generateOnly.secret);
    try {
      const feed = collect(client, `subscription { balanceChanged { available } }`);
      await feed.done;
      expect(JSON.stringify(feed.errors)).toContain('FORBIDDEN');
    } finally {
      await client.dispose();
    }
    expect(await issue(ADMIN_TOKEN, { tenantId: t.id, scopes: [] })).toMatchObject({ code: 'VALIDATION', field: ['scopes'] });
  });
});

describe('rotateApiKey', () => {
  it('the new secret has the same settings; the old one works during its grace and is refused after', async () => {
    const t = await gw.createTenant('rotating', 0);
    const old = success(await issue(ADMIN_TOKEN, { tenantId: t.id, name: 'ci', scopes: ['READ', 'WEBHOOKS'] }));
    const rotated = success(await rotate(ADMIN_TOKEN, old.apiKey.id, 2));
    expect(rotated.apiKey).toMatchObject({ name: 'ci', scopes: ['READ', 'WEBHOOKS'], rotatedFrom: { id: old.apiKey.id } });
    expect(rotated.secret).not.toBe(old.secret);
    expect(new Date(rotated.oldKeyExpiresAt).getTime()).toBeGreaterThan(Date.now());
    expect(await meStatus(rotated.secret)).toBe(200);
    expect(await meStatus(old.secret)).toBe(200);
    await expect.poll(() => meStatus(old.secret), { timeout: 6000, interval: 200 }).toBe(401);
    expect(await meStatus(rotated.secret)).toBe(200);

    // Rotated once: rotate the successor next.
    expect(await rotate(ADMIN_TOKEN, old.apiKey.id, 0)).toMatchObject({ code: 'VALIDATION', field: ['keyId'] });
    const again = success(await rotate(ADMIN_TOKEN, rotated.apiKey.id, 0));
    // A grace of 0 ends the old secret at once, on every transport.
    expect(await meStatus(rotated.secret)).toBe(401);
    expect(await meStatus(again.secret)).toBe(200);

    const log = await gw.gql<{ auditLog: { edges: { node: { action: string; details: Record<string, unknown> } }[] } }>(
      `query($id: ID!) { auditLog(tenantId: $id, first: 10) { edges { node { action details } } } }`,
      { id: t.id },
    );
    const rotations = log.data!.auditLog.edges.map((e) => e.node).filter((n) => n.action === 'apiKey.rotate');
    expect(rotations).toHaveLength(2);
    expect(rotations[1]!.details).toMatchObject({ keyId: rowId(old.apiKey.id), newKeyId: rowId(rotated.apiKey.id), gracePeriodSeconds: 2 });
    expect(JSON.stringify(rotations)).not.toContain(rotated.secret);
  });

  it("a grace of 0 closes the old key's open subscription", async () => {
    const t = await gw.createTenant('rotate-socket', 0);
    const old = success(await issue(ADMIN_TOKEN, { tenantId: t.id }));
    const client = wsClient(gw.graphqlUrl, old.secret);
    try {
      collect(client, `subscription { balanceChanged { available } }`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      success(await rotate(ADMIN_TOKEN, old.apiKey.id, 0));
      const closed = await Promise.race([client.closed, new Promise((resolve) => setTimeout(() => resolve('open'), 5000))]);
      expect(closed).not.toBe('open');
    } finally {
      await client.dispose();
    }
  });

  it('a revoked key cannot be rotated; bad grace periods are VALIDATION', async () => {
    const t = await gw.createTenant('rotate-bad', 0);
    const key = success(await issue(ADMIN_TOKEN, { tenantId: t.id }));
    expect(await rotate(ADMIN_TOKEN, key.apiKey.id, -1)).toMatchObject({ code: 'VALIDATION', field: ['gracePeriodSeconds'] });
    expect(await rotate(ADMIN_TOKEN, key.apiKey.id, 31 * 86_400)).toMatchObject({ code: 'VALIDATION', field: ['gracePeriodSeconds'] });
    await gw.gql(`mutation($id: ID!) { revokeApiKey(input: { id: $id }) { __typename } }`, { id: key.apiKey.id });
    expect(await rotate(ADMIN_TOKEN, key.apiKey.id, 10)).toMatchObject({ code: 'VALIDATION', field: ['keyId'] });
  });

  it('concurrent rotations of one key make one successor', async () => {
    const t = await gw.createTenant('rotate-race', 0);
    const key = success(await issue(ADMIN_TOKEN, { tenantId: t.id }));
    const results = await Promise.all(Array.from({ length: 8 }, () => rotate(ADMIN_TOKEN, key.apiKey.id, 60)));
    expect(results.filter((r) => r.__typename === 'MutationRotateApiKeySuccess')).toHaveLength(1);
    for (const r of results.filter((x) => x.__typename !== 'MutationRotateApiKeySuccess')) expect(r).toMatchObject({ code: 'VALIDATION' });
    expect(await gw.deps.db.apiKey.count({ where: { rotatedFromId: rowId(key.apiKey.id) } })).toBe(1);
  });
});

describe('a tenant key with MANAGE_KEYS', () => {
  it("issues, rotates and revokes its own tenant's keys and rotates its webhook secret; never another tenant's", async () => {
    const a = await gw.createTenant('self-a', 0);
    const b = await gw.createTenant('self-b', 0);

    const issued = success(await issue(a.key, { tenantId: a.id, name: 'deploy', scopes: ['GENERATE'] }));
    expect(issued.apiKey.scopes).toEqual(['GENERATE']);
    const rotated = success(await rotate(a.key, issued.apiKey.id, 0));
    const revoked = await gw.gql<{ revokeApiKey: Result<{ revokedAt: string }> }>(
      `mutation($id: ID!) { revokeApiKey(input: { id: $id }) { __typename ... on MutationRevokeApiKeySuccess { data { revokedAt } } } }`,
      { id: rotated.apiKey.id },
      a.key,
    );
    expect(success(revoked.data!.revokeApiKey).revokedAt).not.toBeNull();
    const secret = await gw.gql<{ rotateWebhookSecret: Result<{ secret: string }> }>(
      `mutation($id: ID!) { rotateWebhookSecret(input: { tenantId: $id }) { __typename ... on Error { code } ... on MutationRotateWebhookSecretSuccess { data { secret } } } }`,
      { id: a.id },
      a.key,
    );
    expect(success(secret.data!.rotateWebhookSecret).secret).toMatch(/^whsec_/);

    // b's tenant and keys are unknown to a's key.
    expect(await issue(a.key, { tenantId: b.id })).toMatchObject({ code: 'NOT_FOUND' });
    expect(await rotate(a.key, b.keyId, 0)).toMatchObject({ code: 'NOT_FOUND' });
    const foreignRevoke = await gw.gql<{ revokeApiKey: Result<unknown> }>(
      `mutation($id: ID!) { revokeApiKey(input: { id: $id }) { __typename ... on Error { code } } }`,
      { id: b.keyId },
      a.key,
    );
    expect(foreignRevoke.data!.revokeApiKey).toMatchObject({ code: 'NOT_FOUND' });
    const foreignSecret = await gw.gql<{ rotateWebhookSecret: Result<unknown> }>(
      `mutation($id: ID!) { rotateWebhookSecret(input: { tenantId: $id }) { __typename ... on Error { code } } }`,
      { id: b.id },
      a.key,
    );
    expect(foreignSecret.data!.rotateWebhookSecret).toMatchObject({ code: 'NOT_FOUND' });
    expect(await meStatus(b.key)).toBe(200);
    expect(await gw.deps.db.apiKey.count({ where: { tenantId: rowId(b.id) } })).toBe(1);

    // Admin keys are not a tenant's to touch.
    const adminKey = await gw.gql<{ issueAdminApiKey: Result<{ apiKey: { id: string } }> }>(
      `mutation { issueAdminApiKey(input: {}) { __typename ... on MutationIssueAdminApiKeySuccess { data { apiKey { id } } } } }`,
    );
    expect(await rotate(a.key, success(adminKey.data!.issueAdminApiKey).apiKey.id, 0)).toMatchObject({ code: 'NOT_FOUND' });

    // The actor of a tenant's own changes is its key.
    const log = await gw.gql<{ auditLog: { edges: { node: { action: string; actor: { kind: string; keyId: string } } }[] } }>(
      `query($id: ID!) { auditLog(tenantId: $id, first: 20) { edges { node { action actor { kind keyId } } } } }`,
      { id: a.id },
    );
    const own = log.data!.auditLog.edges.map((e) => e.node).filter((n) => n.actor.kind === 'TENANT_KEY');
    expect(own.map((n) => n.action)).toEqual(['webhookSecret.rotate', 'apiKey.revoke', 'apiKey.rotate', 'apiKey.issue']);
    for (const n of own) expect(n.actor.keyId).toBe(a.keyId);
  });

  it('grants no scope it lacks; a key without MANAGE_KEYS manages nothing', async () => {
    const t = await gw.createTenant('no-escalation', 0);
    const limited = success(await issue(ADMIN_TOKEN, { tenantId: t.id, scopes: ['READ', 'MANAGE_KEYS'] }));
    expect(await issue(limited.secret, { tenantId: t.id })).toMatchObject({ code: 'VALIDATION', field: ['scopes'] });
    expect(await issue(limited.secret, { tenantId: t.id, scopes: ['GENERATE'] })).toMatchObject({ code: 'VALIDATION', field: ['scopes'] });
    expect(success(await issue(limited.secret, { tenantId: t.id, scopes: ['READ'] })).apiKey.scopes).toEqual(['READ']);

    const readOnly = success(await issue(ADMIN_TOKEN, { tenantId: t.id, scopes: ['READ'] }));
    expect(await issue(readOnly.secret, { tenantId: t.id, scopes: ['READ'] })).toMatchObject({ code: 'FORBIDDEN' });
    expect(await rotate(readOnly.secret, readOnly.apiKey.id, 0)).toMatchObject({ code: 'FORBIDDEN' });
  });
});
