import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/app.ts';
import { verifyWebhook } from '../../src/events/webhook-signature.ts';
import { startReceiver, type Receiver } from '../events/webhook-helpers.ts';
import { ADMIN_TOKEN, startGatewayOn, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { gql, rowId, success, type ResultUnion } from '../helpers/graphql.ts';
import { generate, waitForEnd } from '../helpers/tasks.ts';

// A tenant's own webhook endpoint (setWebhookEndpoint): task.succeeded and
// task.failed from the lifecycle's statements, balance.low and
// balance.recovered once per crossing of the threshold, even with two gateway
// processes hearing every balance event. Over real HTTP, to a real receiver.

let gw: TestGateway;
let other: Gateway;
let receiver: Receiver;
beforeAll(async () => {
  gw = await startTestGateway({ SIMULATOR_FAILURE_RATE: '0.5', SIMULATOR_SEED: '5', SIMULATOR_LATENCY_MS: '30' });
  other = await startGatewayOn(gw.databaseUrl, gw.simulator, {
    SSRF_ALLOW_HOSTS: '127.0.0.1,localhost',
    WEBHOOK_RETRY_SCHEDULE_MS: '50,100,200',
    WEBHOOK_POLL_INTERVAL_MS: '50',
  });
  receiver = await startReceiver(() => 204);
});
afterAll(async () => {
  await other?.close();
  await gw?.stop();
  await receiver?.close();
});

type Endpoint = { url: string; events: string[] };
type Result<T> = ResultUnion<T> & { field?: string };

async function setEndpoint(key: string, input: { url: string; events: string[] }, on: { graphqlUrl: string } = gw): Promise<Result<Endpoint>> {
  const res = await gql<{ setWebhookEndpoint: Result<Endpoint> }>(
    on.graphqlUrl,
    `mutation($input: SetWebhookEndpointInput!) { setWebhookEndpoint(input: $input) {
       __typename ... on Error { code message } ... on ValidationError { field }
       ... on MutationSetWebhookEndpointSuccess { data { url events } } } }`,
    { variables: { input }, token: key },
  );
  if (res.errors) return { __typename: 'TopLevel', code: res.errors[0]!.extensions?.code as string, message: res.errors[0]!.message };
  return res.data!.setWebhookEndpoint;
}

async function secretOf(tenantId: string): Promise<string> {
  const res = await gw.gql<{ rotateWebhookSecret: Result<{ secret: string }> }>(
    `mutation($id: ID!) { rotateWebhookSecret(input: { tenantId: $id }) { __typename ... on MutationRotateWebhookSecretSuccess { data { secret } } } }`,
    { id: tenantId },
  );
  return success(res.data!.rotateWebhookSecret).secret;
}

function urlFor(tenant: string): string {
  return `${receiver.url}&tenant=${encodeURIComponent(tenant)}`;
}

async function deliveriesOf(tenantId: string, eventType?: string) {
  return gw.deps.db.webhookDelivery.findMany({ where: { tenantId: rowId(tenantId), ...(eventType ? { eventType } : {}) }, orderBy: { createdAt: 'asc' } });
}

describe('setWebhookEndpoint', () => {
  it('is refused for a bad or private URL, to an admin, and to a key without WEBHOOKS; nothing is stored', async () => {
    const t = await gw.createTenant('endpoint-refusals', 0);
    expect(await setEndpoint(t.key, { url: 'ftp://example.com/x', events: ['TASK_FAILED'] })).toMatchObject({ code: 'VALIDATION', field: ['url'] });
    expect(await setEndpoint(t.key, { url: 'http://10.1.2.3/hook', events: ['TASK_FAILED'] })).toMatchObject({ code: 'VALIDATION', field: ['url'] });
    expect(await setEndpoint(ADMIN_TOKEN, { url: urlFor('x'), events: ['TASK_FAILED'] })).toMatchObject({ code: 'FORBIDDEN' });
    const readOnly = await gw.gql<{ issueApiKey: Result<{ secret: string }> }>(
      `mutation($id: ID!) { issueApiKey(input: { tenantId: $id, scopes: [READ] }) { __typename ... on MutationIssueApiKeySuccess { data { secret } } } }`,
      { id: t.id },
    );
    expect(await setEndpoint(success(readOnly.data!.issueApiKey).secret, { url: urlFor('x'), events: [] })).toMatchObject({ code: 'FORBIDDEN' });
    expect(await gw.deps.db.webhookEndpoint.count({ where: { tenantId: rowId(t.id) } })).toBe(0);
  });

  it('is shown on the tenant, replaced by the next call, and audited', async () => {
    const t = await gw.createTenant('endpoint-shown', 0);
    expect(success(await setEndpoint(t.key, { url: urlFor('a'), events: ['TASK_FAILED', 'BALANCE_LOW'] }))).toEqual({
      url: urlFor('a'),
      events: ['TASK_FAILED', 'BALANCE_LOW'],
    });
    success(await setEndpoint(t.key, { url: urlFor('b'), events: ['TASK_SUCCEEDED'] }));
    const me = await gw.gql<{ me: { webhookEndpoint: Endpoint } }>(`{ me { webhookEndpoint { url events } } }`, {}, t.key);
    expect(me.data!.me.webhookEndpoint).toEqual({ url: urlFor('b'), events: ['TASK_SUCCEEDED'] });
    const audit = await gw.deps.db.auditEvent.findMany({ where: { tenantId: rowId(t.id), action: 'webhookEndpoint.set' } });
    expect(audit).toHaveLength(2);
    expect(audit.map((a) => a.actorKind)).toEqual(['TENANT_KEY', 'TENANT_KEY']);
    // Without the query, where receivers keep their tokens.
    expect(audit.map((a) => (a.details as { url: string }).url)).toEqual([new URL(receiver.url).origin + '/hooks', new URL(receiver.url).origin + '/hooks']);
    expect(JSON.stringify(audit)).not.toContain('token=abc');
  });
});

describe('task events at the endpoint', () => {
  it('every ended task is delivered once, signed, as the event it is; a callbackUrl still gets its own', async () => {
    const t = await gw.createTenant('endpoint-tasks', 1000);
    const secret = await secretOf(t.id);
    success(await setEndpoint(t.key, { url: urlFor('endpoint-tasks'), events: ['TASK_SUCCEEDED', 'TASK_FAILED'] }));
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const input = { prompt: `endpoint task ${i}`, ...(i === 0 ? { callbackUrl: `${receiver.url}&callback=1` } : {}) };
      ids.push(success(await generate(gw, t.key, 'textToImage', input)).id);
    }
    const ended = await Promise.all(ids.map((id) => waitForEnd(gw, t.key, id)));
    expect(new Set(ended.map((e) => e.status))).toEqual(new Set(['SUCCESS', 'FAILED']));
    await expect
      .poll(async () => (await deliveriesOf(t.id)).filter((d) => d.status === 'DELIVERED').length, { timeout: 10_000 })
      .toBe(9);
    const deliveries = await deliveriesOf(t.id);
    const atEndpoint = deliveries.filter((d) => d.url === urlFor('endpoint-tasks'));
    expect(atEndpoint).toHaveLength(8);
    for (const task of ended) {
      const mine = atEndpoint.filter((d) => d.taskId === rowId(task.id));
      expect(mine).toHaveLength(1);
      expect(mine[0]!.eventType).toBe(task.status === 'SUCCESS' ? 'task.succeeded' : 'task.failed');
    }
    expect(deliveries.filter((d) => d.url.includes('callback=1'))).toHaveLength(1);
    // What the receiver got verifies with the tenant's secret.
    const bodies = receiver.requests.filter((r) => r.body.includes('endpoint task'));
    expect(bodies.length).toBeGreaterThanOrEqual(9);
    for (const body of bodies) expect(() => verifyWebhook(secret, body.headers, body.body)).not.toThrow();
  });

  it('sends only the events asked for', async () => {
    const t = await gw.createTenant('endpoint-filter', 1000);
    success(await setEndpoint(t.key, { url: urlFor('endpoint-filter'), events: ['TASK_FAILED'] }));
    const ids = [];
    for (let i = 0; i < 6; i++) ids.push(success(await generate(gw, t.key, 'textToImage', { prompt: `filter ${i}` })).id);
    const ended = await Promise.all(ids.map((id) => waitForEnd(gw, t.key, id)));
    const failed = ended.filter((e) => e.status === 'FAILED').length;
    await expect.poll(async () => (await deliveriesOf(t.id)).length, { timeout: 5000 }).toBe(failed);
    expect((await deliveriesOf(t.id)).every((d) => d.eventType === 'task.failed')).toBe(true);
  });
});

describe('balance.low and balance.recovered', () => {
  async function adjust(on: { graphqlUrl: string }, tenantId: string, amount: number, key: string) {
    const res = await gql<{ adjustCredits: Result<unknown> }>(
      on.graphqlUrl,
      `mutation($input: AdjustCreditsInput!) { adjustCredits(input: $input) { __typename ... on Error { code message } } }`,
      { variables: { input: { tenantId, amount, reason: 'test', idempotencyKey: key } }, token: ADMIN_TOKEN },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!.adjustCredits.__typename).toBe('MutationAdjustCreditsSuccess');
  }

  async function threshold(tenantId: string, credits: number | null) {
    const res = await gw.gql<{ setLowBalanceThreshold: Result<unknown> }>(
      `mutation($id: ID!, $credits: Int) { setLowBalanceThreshold(input: { tenantId: $id, credits: $credits }) { __typename ... on Error { code message } } }`,
      { id: tenantId, credits },
    );
    expect(res.data!.setLowBalanceThreshold.__typename).toBe('MutationSetLowBalanceThresholdSuccess');
  }

  it('each crossing is delivered once, with two gateway processes racing adjustments, for several rounds', async () => {
    const t = await gw.createTenant('endpoint-balance', 100);
    success(await setEndpoint(t.key, { url: urlFor('endpoint-balance'), events: ['BALANCE_LOW', 'BALANCE_RECOVERED'] }));
    await threshold(t.id, 50);
    const gateways = [gw, other];
    for (let round = 0; round < 4; round++) {
      // 100 → 20, in eight racing steps of -10 through both processes: one crossing below 50.
      await Promise.all(Array.from({ length: 8 }, (_, i) => adjust(gateways[i % 2]!, t.id, -10, `down-${round}-${i}`)));
      await expect.poll(async () => (await deliveriesOf(t.id, 'balance.low')).length, { timeout: 5000 }).toBe(round + 1);
      // 20 → 100, in eight racing steps of +10: one crossing back.
      await Promise.all(Array.from({ length: 8 }, (_, i) => adjust(gateways[i % 2]!, t.id, 10, `up-${round}-${i}`)));
      await expect.poll(async () => (await deliveriesOf(t.id, 'balance.recovered')).length, { timeout: 5000 }).toBe(round + 1);
    }
    // Settle a moment: a late duplicate would show up here.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const all = await deliveriesOf(t.id);
    expect(all.map((d) => d.eventType)).toEqual(Array.from({ length: 4 }, () => ['balance.low', 'balance.recovered']).flat());
    expect(all.every((d) => d.taskId === null)).toBe(true);
    expect(all[0]!.payload).toMatchObject({ type: 'balance.low', data: { tenantId: t.id, threshold: 50 } });
    await expect.poll(async () => (await deliveriesOf(t.id)).every((d) => d.status === 'DELIVERED'), { timeout: 5000 }).toBe(true);
    // They are listed for the tenant, with no task.
    const listed = await gw.gql<{ webhookDeliveries: { edges: { node: { eventType: string; task: unknown } }[] } }>(
      `{ webhookDeliveries(first: 20) { edges { node { eventType task { id } } } } }`,
      {},
      t.key,
    );
    expect(listed.data!.webhookDeliveries.edges.map((e) => e.node)).toHaveLength(8);
    expect(listed.data!.webhookDeliveries.edges.every((e) => e.node.task === null)).toBe(true);
  });

  it('a threshold raised above the balance is a crossing too; an endpoint set while low hears at once', async () => {
    const t = await gw.createTenant('endpoint-threshold', 30);
    success(await setEndpoint(t.key, { url: urlFor('endpoint-threshold'), events: ['BALANCE_LOW', 'BALANCE_RECOVERED'] }));
    await threshold(t.id, 40);
    await expect.poll(async () => (await deliveriesOf(t.id, 'balance.low')).length, { timeout: 5000 }).toBe(1);
    await threshold(t.id, null);
    await expect.poll(async () => (await deliveriesOf(t.id, 'balance.recovered')).length, { timeout: 5000 }).toBe(1);

    const late = await gw.createTenant('endpoint-late', 10);
    await threshold(late.id, 20);
    expect(await deliveriesOf(late.id)).toHaveLength(0);
    success(await setEndpoint(late.key, { url: urlFor('endpoint-late'), events: ['BALANCE_LOW'] }));
    expect((await deliveriesOf(late.id)).map((d) => d.eventType)).toEqual(['balance.low']);
    // Setting it again says nothing new.
    success(await setEndpoint(late.key, { url: urlFor('endpoint-late'), events: ['BALANCE_LOW'] }));
    expect(await deliveriesOf(late.id)).toHaveLength(1);
  });
});
