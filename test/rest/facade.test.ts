// The REST facade over real HTTP: every status code of the upstream contract
// with its meaning there, billing through the one lifecycle (charged at the
// tenant's own price, refunded once), Idempotency-Key replays, signed
// callbacks with the /status body, and REST tasks as ordinary tasks.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhook } from '../../src/events/webhook-signature.ts';
import { verifyLedger } from '../../src/ledger/verify.ts';
import { startReceiver, type Receiver } from '../events/webhook-helpers.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { rowId, success, type ResultUnion } from '../helpers/graphql.ts';
import { balanceOf, generate, generateOk, waitForEnd } from '../helpers/tasks.ts';
import { collect, wsClient } from '../helpers/ws.ts';
import { rest, restGenerate, restStatus, restWaitDone, type StatusData } from './helpers.ts';

let gw: TestGateway;
let receiver: Receiver;
const RATE = 6;

beforeAll(async () => {
  gw = await startTestGateway({
    TENANT_RATE_PER_MINUTE: String(RATE),
    // An unreachable upstream gives up within the test.
    UPSTREAM_TIMEOUT_MS: '300',
    UPSTREAM_RETRY_DEADLINE_MS: '300',
  });
  receiver = await startReceiver(() => 200);
});
afterAll(async () => {
  await receiver?.close();
  await gw?.stop();
});

const api = () => gw.url;
const envelopeOf = (status: number) => ({ code: status, message: expect.any(String), data: null });

async function issueKey(tenantId: string, extra: Record<string, unknown>): Promise<{ secret: string; id: string }> {
  const res = await gw.gql<{ issueApiKey: ResultUnion<{ secret: string; apiKey: { id: string } }> }>(
    `mutation($input: IssueApiKeyInput!) { issueApiKey(input: $input) {
       __typename ... on MutationIssueApiKeySuccess { data { secret apiKey { id } } } } }`,
    { input: { tenantId, ...extra } },
  );
  const data = success(res.data!.issueApiKey);
  return { secret: data.secret, id: data.apiKey.id };
}

async function admin(mutation: string, variables: Record<string, unknown>): Promise<void> {
  const res = await gw.gql<Record<string, ResultUnion<unknown>>>(mutation, variables);
  expect(res.errors).toBeUndefined();
  success(Object.values(res.data!)[0]!);
}

async function ledgerClean(): Promise<void> {
  expect(await verifyLedger(gw.deps.db)).toEqual([]);
}

describe('401: missing, bad, expired or revoked keys', () => {
  it('answers 401 with the envelope on both endpoints, and charges nothing', async () => {
    const t = await gw.createTenant('rest-401', 100);
    const expiring = await issueKey(t.id, { expiresAt: new Date(Date.now() + 800).toISOString() });
    const revoked = await issueKey(t.id, {});
    await admin(`mutation($id: ID!) { revokeApiKey(input: { id: $id }) { __typename ... on Error { code } } }`, { id: revoked.id });
    await new Promise((resolve) => setTimeout(resolve, 900));
    const body = { input: { prompt: 'x' } };
    const headerSets: Record<string, string>[] = [{}, { authorization: 'Basic abc' }, { authorization: 'Bearer gk_not_a_key' }];
    for (const headers of headerSets) {
      const reply = await rest(api(), '/generate', { body, headers });
      expect(reply.status).toBe(401);
      expect(reply.json).toEqual(envelopeOf(401));
    }
    for (const key of [expiring.secret, revoked.secret]) {
      expect(await rest(api(), '/generate', { key, body })).toMatchObject({ status: 401, json: envelopeOf(401) });
      expect(await rest(api(), '/status?task_id=x', { key })).toMatchObject({ status: 401, json: envelopeOf(401) });
    }
    expect(await balanceOf(gw, t.key)).toEqual({ available: 100, held: 0 });
  });
});

describe('402: the balance cannot cover the price', () => {
  it('refuses at a balance one credit short of the tenant price, takes exactly enough', async () => {
    const t = await gw.createTenant('rest-402', 6);
    // The tenant's own price (7), not upstream's cost (5), is what must be covered.
    await admin(`mutation($id: ID!) { setPrice(input: { model: TEXT_TO_IMAGE, credits: 7, tenantId: $id }) { __typename ... on Error { code } } }`, { id: t.id });
    const short = await rest(api(), '/generate', { key: t.key, body: { input: { prompt: 'one short' } } });
    expect(short.status).toBe(402);
    expect(short.json).toEqual({ code: 402, message: 'Insufficient credits: 7 required, 6 available', data: null });
    expect(await gw.deps.db.task.count({ where: { tenantId: rowId(t.id) } })).toBe(0);
    await admin(`mutation($id: ID!) { topUpCredits(input: { tenantId: $id, amount: 1, idempotencyKey: "one more" }) { __typename ... on Error { code } } }`, { id: t.id });
    const id = await restGenerate(api(), t.key, { input: { prompt: 'exactly enough' } });
    expect(await balanceOf(gw, t.key)).toEqual({ available: 0, held: 0 });
    const done = await restWaitDone(api(), t.key, id);
    expect(done).toMatchObject({ status: 'SUCCESS', consumed_credits: 7 });
    await ledgerClean();
  });

  it("answers 402 for a key's exhausted credit limit too (the account it may spend is empty)", async () => {
    const t = await gw.createTenant('rest-key-limit', 100);
    const limited = await issueKey(t.id, { creditLimit: 5, creditLimitPeriod: 'DAY' });
    await restGenerate(api(), limited.secret, { input: { prompt: 'within the limit' } });
    const over = await rest(api(), '/generate', { key: limited.secret, body: { input: { prompt: 'over it' } } });
    expect(over.status).toBe(402);
    expect((over.json as { message: string }).message).toMatch(/credit limit is reached/);
  });
});

describe('403: a key that may not, a tenant suspended', () => {
  it('needs GENERATE for /generate and READ for /status; a suspended tenant may read but not generate', async () => {
    const t = await gw.createTenant('rest-403', 100);
    const readOnly = await issueKey(t.id, { scopes: ['READ'] });
    const generateOnly = await issueKey(t.id, { scopes: ['GENERATE'] });
    const denied = await rest(api(), '/generate', { key: readOnly.secret, body: { input: { prompt: 'x' } } });
    expect(denied).toMatchObject({ status: 403, json: envelopeOf(403) });
    expect((denied.json as { message: string }).message).toMatch(/lacks the GENERATE scope/);
    const id = await restGenerate(api(), generateOnly.secret, { input: { prompt: 'x' } });
    expect((await rest(api(), `/status?task_id=${id}`, { key: generateOnly.secret })).status).toBe(403);
    expect((await restStatus(api(), readOnly.secret, id)).task_id).toBe(id);

    await admin(`mutation($id: ID!) { suspendTenant(input: { tenantId: $id, reason: "test" }) { __typename ... on Error { code } } }`, { id: t.id });
    const suspended = await rest(api(), '/generate', { key: t.key, body: { input: { prompt: 'x' } } });
    expect(suspended).toMatchObject({ status: 403, json: envelopeOf(403) });
    expect((suspended.json as { message: string }).message).toMatch(/suspended/);
    expect((await restStatus(api(), t.key, id)).task_id).toBe(id);
  });
});

describe('429: the tenant rate limit', () => {
  it('answers 429 with Retry-After past TENANT_RATE_PER_MINUTE generations, charging only those accepted', async () => {
    const t = await gw.createTenant('rest-429', 1000);
    const replies = [];
    for (let i = 0; i <= RATE; i++) replies.push(await rest(api(), '/generate', { key: t.key, body: { input: { prompt: `burst ${i}` } } }));
    expect(replies.slice(0, RATE).map((r) => r.status)).toEqual(Array(RATE).fill(200));
    const limited = replies[RATE]!;
    expect(limited.status).toBe(429);
    expect(limited.json).toEqual(envelopeOf(429));
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await balanceOf(gw, t.key)).available).toBe(1000 - RATE * 5);
    // Reads are not generations: status still answers.
    expect((await rest(api(), `/status?task_id=${(replies[0]!.json as { data: { task_id: string } }).data.task_id}`, { key: t.key })).status).toBe(200);
  });
});

describe('500: upstream unavailable', () => {
  it('says upstream is unavailable, charges nothing, and the task reads FAILED with nothing consumed', async () => {
    const t = await gw.createTenant('rest-500', 100);
    gw.simulator.configure({ errorRate: 1 });
    try {
      const reply = await rest(api(), '/generate', { key: t.key, body: { input: { prompt: 'no upstream' } } });
      expect(reply.status).toBe(500);
      expect(reply.json).toEqual(envelopeOf(500));
      expect((reply.json as { message: string }).message).toMatch(/^Upstream unavailable/);
    } finally {
      gw.simulator.configure({ errorRate: 0 });
    }
    expect(await balanceOf(gw, t.key)).toEqual({ available: 100, held: 0 });
    const [task] = await gw.deps.db.task.findMany({ where: { tenantId: rowId(t.id) } });
    expect(await restStatus(api(), t.key, task!.id)).toMatchObject({ status: 'FAILED', consumed_credits: 0, error_message: expect.stringMatching(/Upstream unavailable/) });
    await ledgerClean();
  });
});

describe('400, 404, 405, 413', () => {
  it('answers each with the envelope; an unknown or another tenant\'s task is 404', async () => {
    const a = await gw.createTenant('rest-4xx-a', 100);
    const b = await gw.createTenant('rest-4xx-b', 100);
    const own = await restGenerate(api(), a.key, { input: { prompt: 'mine' } });
    const cases: Array<[Promise<{ status: number; json: unknown }>, number]> = [
      [rest(api(), '/generate', { key: a.key, body: '{"input":' }), 400],
      [rest(api(), '/generate', { key: a.key, body: { input: { prompt: 'x' } }, headers: { 'idempotency-key': 'k'.repeat(201) } }), 400],
      [rest(api(), '/generate', { key: a.key, body: { model: 'grok-imagine/text-to-video', input: {} } }), 400],
      [rest(api(), '/status', { key: a.key }), 400],
      [rest(api(), `/status?task_id=${own}`, { key: b.key }), 404],
      [rest(api(), '/status', { key: b.key, body: { task_id: own } }), 404],
      [rest(api(), '/status?task_id=00000000-0000-0000-0000-000000000000', { key: a.key }), 404],
      [rest(api(), '/nope', { key: a.key }), 404],
      [rest(api(), '/generate', { key: a.key }), 405],
      [rest(api(), '/status', { key: a.key, method: 'DELETE' }), 405],
      [rest(api(), '/generate', { key: a.key, body: { input: { prompt: 'x'.repeat(2_000_000) } } }), 413],
    ];
    const replies = await Promise.all(cases.map(([reply]) => reply));
    expect(replies.map((r) => r.status)).toEqual(cases.map(([, status]) => status));
    for (const reply of replies) expect(reply.json).toEqual(envelopeOf(reply.status));
    // b may not upscale a's task either: it does not exist for b.
    const foreign = await rest(api(), '/generate', { key: b.key, body: { model: 'grok-imagine/upscale', input: { task_id: own } } });
    expect(foreign).toMatchObject({ status: 400, json: { message: `input.task_id ${own} does not exist` } });
    expect((await balanceOf(gw, b.key)).available).toBe(100);
  });
});

describe('billing, idempotency, callbacks', () => {
  it('upscales the tenant\'s own task by its gateway id; a failed task is refunded once and reads consumed_credits 0', async () => {
    const t = await gw.createTenant('rest-bill', 200);
    const image = await restGenerate(api(), t.key, { input: { prompt: 'source' } });
    expect(await restWaitDone(api(), t.key, image)).toMatchObject({ status: 'SUCCESS', consumed_credits: 5 });
    const row = await gw.deps.db.task.findUniqueOrThrow({ where: { id: image } });
    expect(row.upstreamTaskId).not.toBe(image);
    const up = await restGenerate(api(), t.key, { model: 'grok-imagine/upscale', input: { task_id: image } });
    const upDone = await restWaitDone(api(), t.key, up);
    expect(upDone).toMatchObject({ status: 'SUCCESS', consumed_credits: 12, request: { model: 'grok-imagine/upscale', input: { task_id: image } } });
    // Upstream was handed its own id for the source, never the gateway's.
    const upRow = await gw.deps.db.task.findUniqueOrThrow({ where: { id: up } });
    expect(gw.simulator.task(upRow.upstreamTaskId!)?.request.input.task_id).toBe(row.upstreamTaskId);

    gw.simulator.configure({ failureRate: 1 });
    try {
      const doomed = await restGenerate(api(), t.key, { model: 'grok-imagine/text-to-video', input: { prompt: 'doomed' } });
      expect((await balanceOf(gw, t.key)).available).toBe(200 - 5 - 12 - 24);
      const failed = await restWaitDone(api(), t.key, doomed);
      expect(failed).toMatchObject({ status: 'FAILED', consumed_credits: 0, response: null, error_message: expect.any(String) });
    } finally {
      gw.simulator.configure({ failureRate: 0 });
    }
    expect(await balanceOf(gw, t.key)).toEqual({ available: 200 - 5 - 12, held: 0 });
    const refunds = await gw.deps.db.transfer.count({ where: { tenantId: rowId(t.id), kind: 'REFUND' } });
    expect(refunds).toBe(1);
    await ledgerClean();
  });

  it('replays the first answer for a repeated Idempotency-Key, charging once; another body with the key is 400', async () => {
    const t = await gw.createTenant('rest-idem', 100);
    const body = { input: { prompt: 'once' } };
    const first = await rest(api(), '/generate', { key: t.key, body, headers: { 'idempotency-key': 'order-1' } });
    const again = await rest(api(), '/generate', { key: t.key, body, headers: { 'idempotency-key': 'order-1' } });
    expect(first.status).toBe(200);
    expect(again.json).toEqual(first.json);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect((await balanceOf(gw, t.key)).available).toBe(95);
    const other = await rest(api(), '/generate', { key: t.key, body: { input: { prompt: 'other' } }, headers: { 'idempotency-key': 'order-1' } });
    expect(other).toMatchObject({ status: 400, json: { code: 400, message: expect.stringMatching(/Idempotency-Key was already used/), data: null } });
    // The API is part of the request: GraphQL cannot replay a REST task in its own shape.
    const viaGraphql = await generate(gw, t.key, 'textToImage', { prompt: 'once', idempotencyKey: 'order-1' });
    expect(viaGraphql).toMatchObject({ __typename: 'IdempotencyConflictError', code: 'IDEMPOTENCY_CONFLICT' });
    expect((await balanceOf(gw, t.key)).available).toBe(95);
  });

  it("POSTs the /status body to callback_url, signed with the tenant's secret; public reaches upstream", async () => {
    const t = await gw.createTenant('rest-callback', 100);
    const rotated = await gw.gql<{ rotateWebhookSecret: ResultUnion<{ secret: string }> }>(
      `mutation($id: ID!) { rotateWebhookSecret(input: { tenantId: $id }) { __typename ... on MutationRotateWebhookSecretSuccess { data { secret } } } }`,
      { id: t.id },
    );
    const secret = success(rotated.data!.rotateWebhookSecret).secret;
    const url = `${receiver.url}&t=rest-callback`;
    const id = await restGenerate(api(), t.key, { input: { prompt: 'call me' }, callback_url: url, public: true });
    const done = await restWaitDone(api(), t.key, id);
    await expect.poll(() => receiver.requests.filter((r) => r.body.includes(id)).length, { timeout: 10_000 }).toBe(1);
    const delivery = receiver.requests.find((r) => r.body.includes(id))!;
    expect(() => verifyWebhook(secret, delivery.headers, delivery.body)).not.toThrow();
    const body = JSON.parse(delivery.body) as { code: number; message: string; data: StatusData };
    expect(body).toEqual({ code: 200, message: 'success', data: done });
    expect(done).toMatchObject({ status: 'SUCCESS', request: { model: 'grok-imagine/text-to-image', input: { prompt: 'call me' } } });
    const row = await gw.deps.db.task.findUniqueOrThrow({ where: { id } });
    expect(row.origin).toBe('REST');
    expect(gw.simulator.task(row.upstreamTaskId!)?.public).toBe(true);
  });
});

describe('REST tasks are the same tasks', () => {
  it('a REST task is in GraphQL tasks, usageReport, subscriptions and metrics; a GraphQL task reads over REST', async () => {
    const t = await gw.createTenant('rest-same', 100);
    const viaRest = await restGenerate(api(), t.key, { input: { prompt: 'made over REST' } });
    await restWaitDone(api(), t.key, viaRest);
    const listed = await gw.gql<{ tasks: { edges: Array<{ node: { id: string; prompt: string; status: string; creditsCharged: number } }> } }>(
      `{ tasks(first: 10) { edges { node { id prompt status creditsCharged } } } }`,
      {},
      t.key,
    );
    expect(listed.data!.tasks.edges.map((e) => ({ ...e.node, id: rowId(e.node.id) }))).toEqual([
      { id: viaRest, prompt: 'made over REST', status: 'SUCCESS', creditsCharged: 5 },
    ]);
    const day = 86_400_000;
    const usage = await gw.gql<{ usageReport: Array<{ model: string; tasks: number; succeeded: number; creditsCharged: number }> }>(
      `query($input: UsageReportInput!) { usageReport(input: $input) { model tasks succeeded creditsCharged } }`,
      { input: { from: new Date(Date.now() - day).toISOString(), to: new Date(Date.now() + day).toISOString() } },
      t.key,
    );
    expect(usage.data!.usageReport).toEqual([{ model: 'TEXT_TO_IMAGE', tasks: 1, succeeded: 1, creditsCharged: 5 }]);

    // Subscribers see REST tasks change; /metrics counts them like any task.
    const metric = async () => {
      const text = await (await fetch(`${gw.url}/metrics`)).text();
      return Number(/^gateway_tasks_total\{model="TEXT_TO_IMAGE",outcome="succeeded"\} (\d+)$/m.exec(text)?.[1] ?? 0);
    };
    const succeededBefore = await metric();
    const ws = wsClient(gw.graphqlUrl, t.key);
    gw.simulator.configure({ latencyMs: 600_000 });
    const followed = await restGenerate(api(), t.key, { input: { prompt: 'followed live' } });
    gw.simulator.configure({ latencyMs: '30-80' });
    // taskUpdated answers the task as it is first: then it is live, and the task may end.
    const feed = collect<{ id: string; status: string }>(ws, 'subscription($id: ID!) { taskUpdated(id: $id) { id status } }', {
      id: encodeGlobalID('Task', followed),
    });
    expect((await feed.next(1)).map((e) => e.status)).toEqual(['IN_PROGRESS']);
    const row = await gw.deps.db.task.findUniqueOrThrow({ where: { id: followed } });
    expect(gw.simulator.completeNow(row.upstreamTaskId!, 'SUCCESS')).toBe(1);
    await feed.done;
    expect(feed.items.map((e) => [rowId(e.id), e.status])).toEqual([
      [followed, 'IN_PROGRESS'],
      [followed, 'SUCCESS'],
    ]);
    feed.stop();
    await ws.dispose();
    // Counted once the settling statement has returned, which can be just after its NOTIFY reached the subscriber.
    await expect.poll(metric, { timeout: 5000 }).toBe(succeededBefore + 1);

    const viaGraphql = await generateOk(gw, t.key, 'textToImage', { prompt: 'made over GraphQL' });
    const ended = await waitForEnd(gw, t.key, viaGraphql.id);
    const read = await restStatus(api(), t.key, rowId(viaGraphql.id));
    expect(read).toMatchObject({ status: ended.status, request: { input: { prompt: 'made over GraphQL' } } });
  });
});
