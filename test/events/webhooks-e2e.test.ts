import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhook } from '../../src/events/webhook-signature.ts';
import { startSimulator, type SimulatorHandle } from '../../src/simulator/server.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { gql, success, type ResultUnion } from '../helpers/graphql.ts';
import { startGatewayProcess } from '../helpers/process.ts';
import { generate, generateOk, waitForEnd } from '../helpers/tasks.ts';
import { startReceiver } from './webhook-helpers.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.stop();
});

async function rotate(g: { graphqlUrl: string }, tenantId: string): Promise<string> {
  const res = await gql<{ rotateWebhookSecret: ResultUnion<{ secret: string }> }>(
    g.graphqlUrl,
    `mutation($id: ID!) { rotateWebhookSecret(input: { tenantId: $id }) {
       __typename ... on MutationRotateWebhookSecretSuccess { data { secret rotatedAt } } } }`,
    { token: ADMIN_TOKEN, variables: { id: tenantId } },
  );
  return success(res.data!.rotateWebhookSecret).secret;
}

async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('tenant webhooks', () => {
  it('posts the task on its terminal status, signed with the tenant secret', async () => {
    const t = await gw.createTenant('hooks', 100);
    const secret = await rotate(gw, t.id);
    expect(secret).toMatch(/^whsec_/);
    const receiver = await startReceiver(() => 200);
    try {
      const task = await generateOk(gw, t.key, 'textToImage', { prompt: 'notify me', callbackUrl: receiver.url });
      const done = await waitForEnd(gw, t.key, task.id);
      const request = await waitFor(() => receiver.requests[0]);
      expect(() => verifyWebhook(secret, request.headers as Record<string, string>, request.body)).not.toThrow();
      expect(() => verifyWebhook(secret, request.headers as Record<string, string>, request.body.replace('SUCCESS', 'FAILED'))).toThrow();
      const body = JSON.parse(request.body) as { type: string; data: Record<string, unknown> };
      expect(body.type).toBe('task.succeeded');
      expect(body.data).toMatchObject({ id: task.id, status: 'SUCCESS', model: 'TEXT_TO_IMAGE', resultUrls: done.resultUrls, refunded: false });
      expect(request.headers['webhook-id']).toMatch(/^msg_/);
    } finally {
      await receiver.close();
    }
  });

  it('a receiver that fails twice then succeeds gets exactly one successful delivery', async () => {
    const t = await gw.createTenant('flaky-hooks', 100);
    const secret = await rotate(gw, t.id);
    const receiver = await startReceiver((n) => (n < 2 ? 500 : 200));
    try {
      const task = await generateOk(gw, t.key, 'textToVideo', { prompt: 'retry me', callbackUrl: receiver.url });
      type Deliveries = { webhookDeliveries: { edges: { node: { status: string; attempts: number; lastResponseCode: number } }[] } };
      const deliveries = await waitFor(async () => {
        const res = await gw.gql<Deliveries>(
          `query($id: ID) { webhookDeliveries(taskId: $id) { edges { node { status attempts lastResponseCode } } } }`,
          { id: task.id },
          t.key,
        );
        const nodes = res.data!.webhookDeliveries.edges.map((e) => e.node);
        return nodes[0]?.status === 'DELIVERED' ? nodes : undefined;
      });
      expect(deliveries).toEqual([{ status: 'DELIVERED', attempts: 3, lastResponseCode: 200 }]);
      await new Promise((r) => setTimeout(r, 400)); // nothing more arrives
      expect(receiver.requests).toHaveLength(3);
      expect(new Set(receiver.requests.map((r) => r.headers['webhook-id'])).size).toBe(1);
      for (const r of receiver.requests) verifyWebhook(secret, r.headers as Record<string, string>, r.body);
      // Another tenant sees none of it.
      const other = await gw.createTenant('nosy', 1);
      const peek = await gw.gql<{ webhookDeliveries: { edges: unknown[] } }>(`{ webhookDeliveries { edges { node { id } } } }`, {}, other.key);
      expect(peek.data!.webhookDeliveries.edges).toEqual([]);
    } finally {
      await receiver.close();
    }
  });

  it('a private-address callbackUrl is rejected with VALIDATION, after DNS resolution', async () => {
    const strict = await startTestGateway({ SSRF_ALLOW_HOSTS: '' });
    try {
      const t = await strict.createTenant('ssrf', 100);
      for (const callbackUrl of ['http://localhost:9/hook', 'http://127.0.0.1:9/hook', 'http://[::1]/x', 'http://10.1.2.3/x']) {
        const res = await generate(strict, t.key, 'textToImage', { prompt: 'p', callbackUrl });
        expect(res.code, callbackUrl).toBe('VALIDATION');
        expect(res.message).toMatch(/callbackUrl/);
      }
      expect(await strict.deps.db.task.count()).toBe(0);
    } finally {
      await strict.stop();
    }
  });
});

describe('webhook outbox survives a crash', () => {
  it('a gateway killed before delivery delivers after restart', async () => {
    const simulator: SimulatorHandle = await startSimulator({ latencyMs: 50 });
    const database = await createTestDatabase();
    // The receiver holds the first request open (the gateway dies mid-delivery), then answers 200.
    const requests: { headers: IncomingHttpHeaders; body: string }[] = [];
    const held: ServerResponse[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        requests.push({ headers: req.headers, body });
        if (requests.length === 1) held.push(res);
        else res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const receiverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const env = {
      DATABASE_URL: database.url,
      UPSTREAM_URL: simulator.url,
      UPSTREAM_API_KEY: simulator.apiKey,
      TASK_POLL_INITIAL_MS: '50',
      TASK_POLL_INTERVAL_MS: '25',
      SSRF_ALLOW_HOSTS: '127.0.0.1',
      WEBHOOK_TIMEOUT_MS: '500',
      WEBHOOK_LEASE_MS: '1000',
      WEBHOOK_POLL_INTERVAL_MS: '100',
    };
    const first = await startGatewayProcess(env);
    try {
      const created = await gql<{ createTenant: ResultUnion<{ id: string }> }>(first.graphqlUrl,
        `mutation { createTenant(input: { name: "crash" }) { __typename ... on MutationCreateTenantSuccess { data { id } } } }`, { token: ADMIN_TOKEN });
      const tenantId = success(created.data!.createTenant).id;
      await gql(first.graphqlUrl, `mutation($id: ID!) { topUpCredits(input: { tenantId: $id, amount: 50, idempotencyKey: "k" }) { __typename } }`, { token: ADMIN_TOKEN, variables: { id: tenantId } });
      const issued = await gql<{ issueApiKey: ResultUnion<{ secret: string }> }>(first.graphqlUrl,
        `mutation($id: ID!) { issueApiKey(input: { tenantId: $id }) { __typename ... on MutationIssueApiKeySuccess { data { secret } } } }`, { token: ADMIN_TOKEN, variables: { id: tenantId } });
      const key = success(issued.data!.issueApiKey).secret;
      const secret = await rotate(first, tenantId);
      await gql(first.graphqlUrl, `mutation($u: String!) { textToImage(input: { prompt: "crash", callbackUrl: $u }) { __typename } }`, { token: key, variables: { u: receiverUrl } });

      await waitFor(() => requests[0]); // the delivery is in flight...
      await first.stop('SIGKILL'); // ...when the gateway dies
      expect(await database.prisma.webhookDelivery.findFirstOrThrow()).toMatchObject({ status: 'PENDING' });

      const second = await startGatewayProcess(env);
      try {
        const delivered = await waitFor(async () => {
          const row = await database.prisma.webhookDelivery.findFirstOrThrow();
          return row.status === 'DELIVERED' ? row : undefined;
        });
        expect(delivered.attempts).toBeGreaterThanOrEqual(1);
        expect(requests.length).toBeGreaterThanOrEqual(2);
        const last = requests.at(-1)!;
        verifyWebhook(secret, last.headers as Record<string, string>, last.body);
        expect(last.headers['webhook-id']).toBe(requests[0]!.headers['webhook-id']);
      } finally {
        await second.stop();
      }
    } finally {
      await first.stop('SIGKILL');
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await simulator.stop();
      await database.drop();
    }
  }, 60_000);
});
