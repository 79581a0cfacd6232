import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/app.ts';
import { startSimulator, type SimulatorHandle } from '../../src/simulator/server.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { ADMIN_TOKEN, startGatewayOn } from '../helpers/gateway.ts';
import { gql, success, type ResultUnion } from '../helpers/graphql.ts';
import { startGatewayProcess, type GatewayProcess } from '../helpers/process.ts';
import { collect, wsClient } from '../helpers/ws.ts';

// Two gateway processes on one database and one Redis: A serves the
// subscriber, B follows the task (its poller, and upstream's callbacks, go to
// B). A's subscriber must see every status, including the one B settles.

const REDIS_URL = process.env.REDIS_TEST_URL ?? 'redis://127.0.0.1:6379';

let simulator: SimulatorHandle;
let database: TestDatabase;
let b: GatewayProcess;
let a: Gateway;

beforeAll(async () => {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await probe.connect(); // fails the suite loudly when Redis is not running
  await probe.quit();

  simulator = await startSimulator({ latencyMs: '300-500' });
  database = await createTestDatabase();
  b = await startGatewayProcess({
    DATABASE_URL: database.url,
    REDIS_URL,
    UPSTREAM_URL: simulator.url,
    UPSTREAM_API_KEY: simulator.apiKey,
    TASK_POLL_INITIAL_MS: '100',
    TASK_POLL_INTERVAL_MS: '50',
  });
  // A never polls and hands upstream B's callback URL: only B can settle.
  a = await startGatewayOn(database.url, simulator, {
    REDIS_URL,
    PUBLIC_URL: b.url,
    TASK_POLL_INITIAL_MS: '100',
    TASK_POLL_INTERVAL_MS: '3600000',
  });
}, 60_000);

afterAll(async () => {
  await a?.close();
  await b?.stop();
  await simulator?.stop();
  await database?.drop();
});

describe('fan-out across processes through Redis', () => {
  it('a subscriber on A sees every status of a task that B settles, in order', async () => {
    const created = await gql<{ createTenant: ResultUnion<{ id: string }> }>(
      a.graphqlUrl,
      `mutation { createTenant(input: { name: "fan-out" }) { __typename ... on MutationCreateTenantSuccess { data { id } } } }`,
      { token: ADMIN_TOKEN },
    );
    const tenantId = success(created.data!.createTenant).id;
    await gql(b.graphqlUrl, `mutation($id: ID!) { topUpCredits(input: { tenantId: $id, amount: 100, idempotencyKey: "k" }) { __typename } }`, {
      token: ADMIN_TOKEN,
      variables: { id: tenantId },
    });
    const issued = await gql<{ issueApiKey: ResultUnion<{ secret: string }> }>(
      a.graphqlUrl,
      `mutation($id: ID!) { issueApiKey(input: { tenantId: $id }) { __typename ... on MutationIssueApiKeySuccess { data { secret } } } }`,
      { token: ADMIN_TOKEN, variables: { id: tenantId } },
    );
    const key = success(issued.data!.issueApiKey).secret;

    const client = wsClient(a.graphqlUrl, key);
    try {
      const tasks = collect<{ id: string; status: string }>(client, `subscription { tasksUpdated { id status } }`);
      const balances = collect<{ available: number }>(client, `subscription { balanceChanged { available } }`);
      await new Promise((r) => setTimeout(r, 300));
      const submitted = await gql<{ textToImage: ResultUnion<{ id: string }> }>(
        a.graphqlUrl,
        `mutation { textToImage(input: { prompt: "across" }) { __typename ... on MutationTextToImageSuccess { data { id } } } }`,
        { token: key },
      );
      const taskId = success(submitted.data!.textToImage).id;
      const seen = await tasks.next(3, 20_000);
      expect(seen).toEqual([
        { id: taskId, status: 'SUBMITTING' },
        { id: taskId, status: 'IN_PROGRESS' },
        { id: taskId, status: 'SUCCESS' },
      ]);
      expect((await balances.next(2)).at(-1)).toEqual({ available: 95 });

      // And a key revoked on B closes the socket held on A.
      const keyId = (await database.prisma.apiKey.findFirstOrThrow({ where: { tenantId: { not: null } } })).id;
      const { encodeGlobalID: encodeGlobalId } = await import('@pothos/plugin-relay');
      await gql(b.graphqlUrl, `mutation($id: ID!) { revokeApiKey(input: { id: $id }) { __typename } }`, {
        token: ADMIN_TOKEN,
        variables: { id: encodeGlobalId('ApiKey', keyId) },
      });
      expect(await client.closed).toMatchObject({ code: 4403, reason: 'API key revoked' });
      await tasks.done;
    } finally {
      await client.dispose();
    }
  }, 60_000);
});
