// A fast render: upstream calls back before the gateway has recorded that
// upstream accepted the task (the task row is still SUBMITTING). The hint
// must not be lost: keepEarlyCallback (src/tasks/store.ts) leaves a poll due
// now, which acceptance keeps. Made deterministic with a proxy in front of
// the simulator that, on each /generate, finishes the new task upstream and
// waits until the simulator's callback has reached the gateway before it
// hands the gateway its answer. The poller's own schedule is ten minutes
// away, so only the kept hint can end the tasks within the test.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Gateway } from '../../src/app.ts';
import { startSimulator, type SimulatorHandle } from '../../src/simulator/server.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { ADMIN_TOKEN, startGatewayOn } from '../helpers/gateway.ts';
import { gql, success, type ResultUnion } from '../helpers/graphql.ts';

const TASKS = 10;

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Proxies to the simulator; a /generate answer is held until upstream has finished the task and called back. */
async function startCallbackFirstProxy(simulator: SimulatorHandle, seen: { callbacksBeforeAnswer: number }): Promise<Server> {
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const url = new URL(req.url ?? '/', simulator.origin);
      const headers: Record<string, string> = {};
      for (const name of ['authorization', 'content-type']) {
        const value = req.headers[name];
        if (typeof value === 'string') headers[name] = value;
      }
      const upstream = await fetch(url, { method: req.method, headers, body: body.length > 0 ? new Uint8Array(body) : undefined });
      const answer = Buffer.from(await upstream.arrayBuffer());
      if (url.pathname.endsWith('/generate') && upstream.status === 200) {
        const taskId = (JSON.parse(answer.toString()) as { data: { task_id: string } }).data.task_id;
        const before = simulator.counters().callbacks.delivered;
        expect(simulator.completeNow(taskId, 'SUCCESS')).toBe(1);
        await simulator.callbacksIdle();
        seen.callbacksBeforeAnswer += simulator.counters().callbacks.delivered - before;
      }
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
      res.end(answer);
    })().catch((error: unknown) => res.writeHead(502).end(String(error)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

let simulator: SimulatorHandle;
let database: TestDatabase;
let proxy: Server;
let gateway: Gateway;
const seen = { callbacksBeforeAnswer: 0 };

beforeAll(async () => {
  simulator = await startSimulator({ latencyMs: '600000' });
  database = await createTestDatabase();
  proxy = await startCallbackFirstProxy(simulator, seen);
  gateway = await startGatewayOn(database.url, { url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/api`, apiKey: simulator.apiKey }, {
    TASK_POLL_INITIAL_MS: '600000',
    TASK_POLL_MAX_MS: '600000',
    TASK_POLL_INTERVAL_MS: '50',
  });
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  proxy?.closeAllConnections();
  await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
  await simulator?.stop();
  await database?.drop();
});

describe('a callback that arrives before acceptance is recorded', () => {
  it(`${TASKS} tasks, each called back while still SUBMITTING: all end SUCCESS long before their first scheduled poll`, async () => {
    const url = gateway.graphqlUrl;
    const created = await gql<{ createTenant: ResultUnion<{ id: string }> }>(
      url,
      `mutation { createTenant(input: { name: "early" }) { __typename ... on MutationCreateTenantSuccess { data { id } } } }`,
      { token: ADMIN_TOKEN },
    );
    const tenantId = success(created.data!.createTenant).id;
    success(
      (await gql<{ topUpCredits: ResultUnion<unknown> }>(
        url,
        `mutation($id: ID!) { topUpCredits(input: { tenantId: $id, amount: 1000, idempotencyKey: "k" }) { __typename } }`,
        { token: ADMIN_TOKEN, variables: { id: tenantId } },
      )).data!.topUpCredits,
    );
    const key = success(
      (await gql<{ issueApiKey: ResultUnion<{ secret: string }> }>(
        url,
        `mutation($id: ID!) { issueApiKey(input: { tenantId: $id }) { __typename ... on MutationIssueApiKeySuccess { data { secret } } } }`,
        { token: ADMIN_TOKEN, variables: { id: tenantId } },
      )).data!.issueApiKey,
    ).secret;

    const ids: string[] = [];
    for (let i = 0; i < TASKS; i++) {
      const res = await gql<{ textToImage: ResultUnion<{ id: string }> }>(
        url,
        `mutation($p: String!) { textToImage(input: { prompt: $p }) { __typename ... on MutationTextToImageSuccess { data { id } } ... on Error { code message } } }`,
        { token: key, variables: { p: `fast ${i}` } },
      );
      ids.push(success(res.data!.textToImage).id);
    }
    // Every callback reached the gateway before its /generate answer did.
    expect(seen.callbacksBeforeAnswer).toBe(TASKS);

    await vi.waitFor(
      async () => {
        const statuses = await database.prisma.task.groupBy({ by: ['status'], _count: true });
        expect(statuses.map((s) => [s.status, s._count])).toEqual([['SUCCESS', TASKS]]);
      },
      { timeout: 15_000, interval: 100 },
    );
    // One /status call per task: the one each kept hint asked for.
    expect(simulator.counters().requests.status).toEqual({ '200': TASKS });
  }, 60_000);
});
