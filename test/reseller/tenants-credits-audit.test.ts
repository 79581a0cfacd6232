import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyLedger } from '../../src/ledger/verify.ts';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { rowId, success, type ResultUnion } from '../helpers/graphql.ts';
import { balanceOf, generate, generateOk, getTask } from '../helpers/tasks.ts';

// Reseller operations over real HTTP: suspending a tenant, correcting its
// balance, and the audit log that records both (and every other admin write).

let gw: TestGateway;
beforeAll(async () => {
  // Tasks stay in flight until a test completes them (simulator.completeNow).
  gw = await startTestGateway({ SIMULATOR_LATENCY_MS: '600000' });
});
afterAll(async () => {
  await gw?.stop();
});

type Result<T = unknown> = ResultUnion<T> & { field?: string; required?: number; available?: number };

async function admin<T>(query: string, variables: Record<string, unknown> = {}, token: string = ADMIN_TOKEN): Promise<T> {
  const res = await gw.gql<T>(query, variables, token);
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data!;
}

const TENANT_RESULT = (name: string) => `__typename ... on Error { code message } ... on ValidationError { field }
  ... on Mutation${name}Success { data { id status suspendedReason suspendedAt } }`;

async function suspend(tenantId: string, reason: string, token?: string): Promise<Result<{ status: string; suspendedReason: string | null; suspendedAt: string | null }>> {
  const data = await admin<{ suspendTenant: Result<{ status: string; suspendedReason: string | null; suspendedAt: string | null }> }>(
    `mutation($id: ID!, $reason: String!) { suspendTenant(input: { tenantId: $id, reason: $reason }) { ${TENANT_RESULT('SuspendTenant')} } }`,
    { id: tenantId, reason },
    token,
  );
  return data.suspendTenant;
}

async function reactivate(tenantId: string): Promise<Result<{ status: string; suspendedReason: string | null }>> {
  const data = await admin<{ reactivateTenant: Result<{ status: string; suspendedReason: string | null }> }>(
    `mutation($id: ID!) { reactivateTenant(input: { tenantId: $id }) { ${TENANT_RESULT('ReactivateTenant')} } }`,
    { id: tenantId },
  );
  return data.reactivateTenant;
}

const ENTRY_RESULT = `__typename ... on Error { code message } ... on ValidationError { field }
  ... on InsufficientCreditsError { required available }
  ... on MutationAdjustCreditsSuccess { data { id kind amount balanceAfter note } }`;

async function adjustCredits(tenantId: string, amount: number, idempotencyKey: string, reason = 'correction') {
  const data = await admin<{ adjustCredits: Result<{ id: string; kind: string; amount: number; balanceAfter: number; note: string }> }>(
    `mutation($id: ID!, $amount: Int!, $key: String!, $reason: String!) {
       adjustCredits(input: { tenantId: $id, amount: $amount, reason: $reason, idempotencyKey: $key }) { ${ENTRY_RESULT} } }`,
    { id: tenantId, amount, key: idempotencyKey, reason },
  );
  return data.adjustCredits;
}

interface AuditView {
  action: string;
  actor: { kind: string; keyId: string | null; prefix: string | null };
  tenant: { id: string } | null;
  details: Record<string, unknown>;
}

async function auditLog(tenantId: string | null, first = 50): Promise<AuditView[]> {
  const data = await admin<{ auditLog: { edges: { node: AuditView }[] } }>(
    `query($id: ID, $first: Int) { auditLog(tenantId: $id, first: $first) {
       edges { node { id action actor { kind keyId prefix } tenant { id } details createdAt } } } }`,
    { id: tenantId, first },
  );
  return data.auditLog.edges.map((e) => e.node);
}

describe('suspendTenant and reactivateTenant', () => {
  it('a suspended tenant is refused TENANT_SUSPENDED with nothing held; its task in flight still settles; reactivation lets it generate', async () => {
    const t = await gw.createTenant('suspend-me', 100);
    const inFlight = await generateOk(gw, t.key, 'textToImage', { prompt: 'before the suspension' });
    expect(await balanceOf(gw, t.key)).toEqual({ available: 95, held: 0 });

    const suspended = success(await suspend(t.id, 'unpaid invoice 2026-11'));
    expect(suspended).toMatchObject({ status: 'SUSPENDED', suspendedReason: 'unpaid invoice 2026-11' });
    expect(suspended.suspendedAt).not.toBeNull();

    const tasksBefore = await gw.deps.db.task.count({ where: { tenantId: rowId(t.id) } });
    const holdsBefore = await gw.deps.db.hold.count({ where: { tenantId: rowId(t.id) } });
    const generatesBefore = gw.simulator.counters().tasks.created;
    for (const [mutation, input] of [
      ['textToImage', { prompt: 'after' }],
      ['textToVideo', { prompt: 'after' }],
      ['textToImage', { prompt: 'after', idempotencyKey: 'k-suspended' }],
    ] as const) {
      const refused = await generate(gw, t.key, mutation, input);
      expect(refused).toMatchObject({ __typename: 'TenantSuspendedError', code: 'TENANT_SUSPENDED' });
      expect(refused.message).toMatch(/suspended/);
    }
    expect(await balanceOf(gw, t.key)).toEqual({ available: 95, held: 0 });
    expect(await gw.deps.db.task.count({ where: { tenantId: rowId(t.id) } })).toBe(tasksBefore);
    expect(await gw.deps.db.hold.count({ where: { tenantId: rowId(t.id) } })).toBe(holdsBefore);
    expect(gw.simulator.counters().tasks.created).toBe(generatesBefore);

    // Reads go on, and so does the task in flight: it settles while suspended.
    const row = await gw.deps.db.task.findUniqueOrThrow({ where: { id: rowId(inFlight.id) } });
    expect(gw.simulator.completeNow(row.upstreamTaskId!, 'FAILED')).toBe(1);
    await expect.poll(async () => (await getTask(gw, t.key, inFlight.id))?.status, { timeout: 10_000 }).toBe('FAILED');
    expect(await balanceOf(gw, t.key)).toEqual({ available: 100, held: 0 });

    const reactivated = success(await reactivate(t.id));
    expect(reactivated).toMatchObject({ status: 'ACTIVE', suspendedReason: null, suspendedAt: null });
    expect(await generateOk(gw, t.key, 'textToImage', { prompt: 'welcome back' })).toMatchObject({ status: 'IN_PROGRESS' });
    expect(await verifyLedger(gw.deps.db)).toEqual([]);
  });

  it('suspension is checked in the statement that holds: a tenant with no credits is told it is suspended', async () => {
    const t = await gw.createTenant('suspended-and-broke', 0);
    success(await suspend(t.id, 'fraud review'));
    expect(await generate(gw, t.key, 'textToImage', { prompt: 'x' })).toMatchObject({ code: 'TENANT_SUSPENDED' });
  });

  it('suspending again replaces the reason; reactivating an active tenant changes nothing; tenants show their status', async () => {
    const t = await gw.createTenant('twice', 0);
    const first = success(await suspend(t.id, 'first reason'));
    const second = success(await suspend(t.id, 'second reason'));
    expect(second).toMatchObject({ status: 'SUSPENDED', suspendedReason: 'second reason', suspendedAt: first.suspendedAt });
    const listed = await admin<{ tenant: { status: string; suspendedReason: string } }>(
      `query($id: ID!) { tenant(id: $id) { status suspendedReason } }`,
      { id: t.id },
    );
    expect(listed.tenant).toEqual({ status: 'SUSPENDED', suspendedReason: 'second reason' });
    expect(success(await reactivate(t.id)).status).toBe('ACTIVE');
    expect(success(await reactivate(t.id)).status).toBe('ACTIVE');
    const actions = (await auditLog(t.id)).map((e) => e.action);
    expect(actions.filter((a) => a === 'tenant.reactivate')).toHaveLength(1);
    expect(actions.filter((a) => a === 'tenant.suspend')).toHaveLength(2);
  });

  it('bad input and unknown tenants are typed errors; a tenant key may not suspend', async () => {
    const t = await gw.createTenant('guarded', 0);
    expect(await suspend(t.id, '   ')).toMatchObject({ code: 'VALIDATION', field: ['reason'] });
    expect(await suspend(Buffer.from('Tenant:00000000-0000-4000-8000-000000000000').toString('base64'), 'x')).toMatchObject({
      code: 'NOT_FOUND',
    });
    const res = await gw.gql(`mutation($id: ID!) { suspendTenant(input: { tenantId: $id, reason: "me" }) { __typename } }`, { id: t.id }, t.key);
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const status = await gw.deps.db.tenant.findUniqueOrThrow({ where: { id: rowId(t.id) }, select: { status: true } });
    expect(status.status).toBe('ACTIVE');
  });
});

describe('adjustCredits', () => {
  it('adds and removes credits as ADJUSTMENT entries against the ADJUSTMENT account; the ledger balances', async () => {
    const t = await gw.createTenant('adjust', 50);
    expect(success(await adjustCredits(t.id, 20, 'a1', 'goodwill for the outage'))).toMatchObject({
      kind: 'ADJUSTMENT',
      amount: 20,
      balanceAfter: 70,
      note: 'goodwill for the outage',
    });
    expect(success(await adjustCredits(t.id, -30, 'a2', 'double top-up reversed'))).toMatchObject({
      kind: 'ADJUSTMENT',
      amount: -30,
      balanceAfter: 40,
    });
    expect(await balanceOf(gw, t.key)).toEqual({ available: 40, held: 0 });
    const adjustments = await gw.deps.db.entry.aggregate({
      where: { accountId: '00000000-0000-4000-8000-000000000004' },
      _sum: { amount: true },
    });
    expect(adjustments._sum.amount).not.toBeNull();
    expect(await verifyLedger(gw.deps.db)).toEqual([]);
  });

  it('a removal below zero available is INSUFFICIENT_CREDITS and changes nothing, held credits included', async () => {
    const t = await gw.createTenant('adjust-broke', 10);
    await generateOk(gw, t.key, 'textToImage', { prompt: 'holds nothing once charged' });
    expect(await balanceOf(gw, t.key)).toEqual({ available: 5, held: 0 });
    const entries = await gw.deps.db.entry.count();
    const audits = await gw.deps.db.auditEvent.count();
    expect(await adjustCredits(t.id, -6, 'too-much')).toMatchObject({
      __typename: 'InsufficientCreditsError',
      code: 'INSUFFICIENT_CREDITS',
      required: 6,
      available: 5,
    });
    expect(await balanceOf(gw, t.key)).toEqual({ available: 5, held: 0 });
    expect(await gw.deps.db.entry.count()).toBe(entries);
    // A failed write leaves no audit row (and the refused key stays free).
    expect(await gw.deps.db.auditEvent.count()).toBe(audits);
    expect(success(await adjustCredits(t.id, -5, 'too-much'))).toMatchObject({ amount: -5, balanceAfter: 0 });
  });

  it('a retry with the same key and amount returns the first entry; another amount or sign is IDEMPOTENCY_CONFLICT', async () => {
    const t = await gw.createTenant('adjust-idem', 100);
    const first = success(await adjustCredits(t.id, -10, 'same'));
    const retries = await Promise.all(Array.from({ length: 10 }, () => adjustCredits(t.id, -10, 'same')));
    for (const retry of retries) expect(success(retry)).toEqual(first);
    expect(await adjustCredits(t.id, 10, 'same')).toMatchObject({ code: 'IDEMPOTENCY_CONFLICT' });
    expect(await adjustCredits(t.id, -11, 'same')).toMatchObject({ code: 'IDEMPOTENCY_CONFLICT' });
    expect(await balanceOf(gw, t.key)).toEqual({ available: 90, held: 0 });
    expect((await auditLog(t.id)).filter((e) => e.action === 'credits.adjust')).toHaveLength(1);
  });

  it('zero, a missing reason and amounts past the limit are VALIDATION', async () => {
    const t = await gw.createTenant('adjust-bad', 0);
    expect(await adjustCredits(t.id, 0, 'z')).toMatchObject({ code: 'VALIDATION', field: ['amount'] });
    expect(await adjustCredits(t.id, 5, 'r', ' ')).toMatchObject({ code: 'VALIDATION', field: ['reason'] });
    expect(await adjustCredits(t.id, 2_000_000_001, 'big')).toMatchObject({ code: 'VALIDATION', field: ['amount'] });
    success(await adjustCredits(t.id, 1_999_999_999, 'near'));
    expect(await adjustCredits(t.id, 2, 'over')).toMatchObject({ code: 'VALIDATION', field: ['amount'] });
  });
});

describe('auditLog', () => {
  it('records every admin write with its actor, never a secret; a tenant key may not read it', async () => {
    // An admin key, so the actor of some writes is a key rather than the token.
    const issued = await admin<{ issueAdminApiKey: Result<{ secret: string; apiKey: { id: string; prefix: string } }> }>(
      `mutation { issueAdminApiKey(input: { name: "ops" }) { __typename ... on MutationIssueAdminApiKeySuccess { data { secret apiKey { id prefix } } } } }`,
    );
    const adminKey = success(issued.issueAdminApiKey);

    const created = await admin<{ createTenant: Result<{ id: string }> }>(
      `mutation { createTenant(input: { name: "audited" }) { __typename ... on MutationCreateTenantSuccess { data { id } } } }`,
      {},
      adminKey.secret,
    );
    const tenantId = success(created.createTenant).id;
    await admin(`mutation($id: ID!) { topUpCredits(input: { tenantId: $id, amount: 30, idempotencyKey: "t1" }) { __typename } }`, { id: tenantId });
    // A repeat changes nothing and is not logged again.
    await admin(`mutation($id: ID!) { topUpCredits(input: { tenantId: $id, amount: 30, idempotencyKey: "t1" }) { __typename } }`, { id: tenantId });
    const key = await admin<{ issueApiKey: Result<{ secret: string; apiKey: { id: string; prefix: string } }> }>(
      `mutation($id: ID!) { issueApiKey(input: { tenantId: $id }) { __typename ... on MutationIssueApiKeySuccess { data { secret apiKey { id prefix } } } } }`,
      { id: tenantId },
    );
    const tenantKey = success(key.issueApiKey);
    await admin(`mutation($id: ID!) { revokeApiKey(input: { id: $id }) { __typename } }`, { id: tenantKey.apiKey.id });
    await admin(`mutation($id: ID!) { setPrice(input: { model: UPSCALE, credits: 4, tenantId: $id }) { __typename } }`, { id: tenantId });
    await admin(`mutation($id: ID!) { rotateWebhookSecret(input: { tenantId: $id }) { __typename } }`, { id: tenantId });
    success(await suspend(tenantId, 'audit me', adminKey.secret));
    success(await reactivate(tenantId));
    success(await adjustCredits(tenantId, -3, 'adj', 'typo in the top-up'));

    const events = await auditLog(tenantId);
    expect(events.map((e) => e.action)).toEqual([
      'credits.adjust',
      'tenant.reactivate',
      'tenant.suspend',
      'webhookSecret.rotate',
      'price.set',
      'apiKey.revoke',
      'apiKey.issue',
      'credits.topUp',
      'tenant.create',
    ]);
    for (const event of events) expect(event.tenant).toEqual({ id: tenantId });
    const byAction = Object.fromEntries(events.map((e) => [e.action, e]));
    const asKey = { kind: 'ADMIN_KEY', keyId: adminKey.apiKey.id, prefix: adminKey.apiKey.prefix };
    const asToken = { kind: 'ADMIN_TOKEN', keyId: null, prefix: null };
    expect(byAction['tenant.create']!.actor).toEqual(asKey);
    expect(byAction['tenant.suspend']!.actor).toEqual(asKey);
    expect(byAction['credits.topUp']!.actor).toEqual(asToken);
    expect(byAction['credits.topUp']!.details).toMatchObject({ amount: 30, idempotencyKey: 't1' });
    expect(byAction['credits.topUp']!.details.transferId).toEqual(expect.any(String));
    expect(byAction['credits.adjust']!.details).toMatchObject({ amount: -3, reason: 'typo in the top-up' });
    expect(byAction['apiKey.issue']!.details).toMatchObject({ keyId: rowId(tenantKey.apiKey.id), prefix: tenantKey.apiKey.prefix, role: 'TENANT' });
    expect(byAction['apiKey.revoke']!.details).toMatchObject({ keyId: rowId(tenantKey.apiKey.id), role: 'TENANT' });
    expect(byAction['price.set']!.details).toEqual({ model: 'UPSCALE', credits: 4, scope: 'tenant' });
    expect(byAction['tenant.suspend']!.details).toEqual({ reason: 'audit me' });

    // No secret anywhere in the log: not the keys', not the webhook secret.
    const everything = JSON.stringify(await auditLog(null, 100));
    expect(everything).not.toContain(adminKey.secret);
    expect(everything).not.toContain(tenantKey.secret);
    expect(everything).not.toContain(ADMIN_TOKEN);
    expect(everything).not.toContain('whsec_');
    // The admin key's own issue is logged without a tenant.
    expect((await auditLog(null, 100)).some((e) => e.action === 'apiKey.issue' && e.tenant === null)).toBe(true);

    const t = await gw.createTenant('nosy', 0);
    const res = await gw.gql(`{ auditLog(first: 5) { edges { node { id } } } }`, {}, t.key);
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('pages newest first with cursors bound to the list', async () => {
    const t = await gw.createTenant('paged', 0);
    for (let i = 0; i < 5; i++) success(await adjustCredits(t.id, 1, `p${i}`));
    const page = (after: string | null) =>
      admin<{ auditLog: { edges: { cursor: string; node: { details: { idempotencyKey?: string } } }[]; pageInfo: { hasNextPage: boolean } } }>(
        `query($id: ID!, $after: String) { auditLog(tenantId: $id, first: 3, after: $after) {
           edges { cursor node { details } } pageInfo { hasNextPage } } }`,
        { id: t.id, after },
      );
    const one = await page(null);
    expect(one.auditLog.edges.map((e) => e.node.details.idempotencyKey)).toEqual(['p4', 'p3', 'p2']);
    expect(one.auditLog.pageInfo.hasNextPage).toBe(true);
    const two = await page(one.auditLog.edges.at(-1)!.cursor);
    expect(two.auditLog.edges.map((e) => e.node.details.idempotencyKey ?? 'other')).toEqual(['p1', 'p0', 'other', 'other', 'other'].slice(0, 3));
    // A cursor of another tenant's view is refused.
    const other = await gw.gql(`query($after: String) { auditLog(first: 3, after: $after) { edges { cursor } } }`, {
      after: one.auditLog.edges[0]!.cursor,
    });
    expect(other.errors?.[0]?.extensions?.code).toBe('VALIDATION');
  });
});
