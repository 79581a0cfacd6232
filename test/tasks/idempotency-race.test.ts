// Concurrent retries with one idempotency key, as a hostile client sends
// them, while the same tenant's other tasks are accepted and settled: one
// task and one charge per key, no deadlock, no 5xx, no RATE_LIMITED for a
// replay, no task left uncharged after upstream accepted it. First at the
// statements' level (every duplicate reaches PostgreSQL), then over HTTP
// through three gateway processes sharing one database.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/app.ts';
import { notifyAnnouncer, type Store } from '../../src/db/announce.ts';
import type { Task } from '../../src/generated/prisma/client.ts';
import { topUp } from '../../src/ledger/credits.ts';
import { verifyLedger } from '../../src/ledger/verify.ts';
import * as lifecycle from '../../src/tasks/lifecycle.ts';
import { requestHash, type GenerationRequest } from '../../src/tasks/requests.ts';
import { createTenant } from '../../src/tenants/service.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { startGatewayOn, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { gql, type GraphQLResponse } from '../helpers/graphql.ts';
import { waitForEnd } from '../helpers/tasks.ts';

const ROUNDS = 20;
const DUPLICATES = 120;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function request(prompt: string, idempotencyKey: string | null): GenerationRequest {
  return { model: 'TEXT_TO_IMAGE', prompt, imageUrls: [], sourceTaskId: null, callbackUrl: null, public: false, idempotencyKey };
}

describe('the statements, raced directly', () => {
  let database: TestDatabase;
  let store: Store;
  beforeAll(async () => {
    database = await createTestDatabase();
    // Room for every racer at once: a pool that queued them would hide the race.
    await database.prisma.$disconnect();
    const { createPrisma } = await import('../../src/db/client.ts');
    store = { db: createPrisma(database.url, { max: 40 }), announcer: notifyAnnouncer };
  });
  afterAll(async () => {
    await store?.db.$disconnect();
    await database?.drop();
  });

  it(`${ROUNDS} rounds: ${DUPLICATES} submits of one key race the accept and settlement of that task and of others`, async () => {
    const tenantId = (await createTenant(store.db, { name: 'racer' })).id;
    await topUp(store, { tenantId, amount: 1_000_000, idempotencyKey: 'seed' });
    const submit = (prompt: string, key: string | null) =>
      lifecycle.submit(store, { tenantId, request: request(prompt, key), requestHash: requestHash(request(prompt, key)), maxInFlight: 10_000 });
    const accept = async (task: Task) => (await lifecycle.accept(store, task, `up-${randomUUID()}`, new Date(Date.now() + 60_000)))!;

    const failures: unknown[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Other tasks of the tenant, in progress: settled while the duplicates run.
      const others = await Promise.all(Array.from({ length: 10 }, async (_, i) => accept((await submit(`other ${round}.${i}`, null))!)));
      const key = `key-${round}`;
      const claimed: Task[] = [];
      const racers = Array.from({ length: DUPLICATES }, async (_, i) => {
        await sleep(Math.random() * 30);
        const task = await submit('the same request', key);
        if (task) {
          claimed.push(task);
          // The winner is accepted and then settled while duplicates still arrive.
          const accepted = await accept(task);
          await sleep(Math.random() * 10);
          await lifecycle.settle(store, accepted, i % 2 ? { status: 'SUCCESS', resultUrls: ['https://cdn/x.png'], consumedCredits: 5 } : { status: 'FAILED', errorMessage: 'upstream failed' });
        }
      });
      const settlers = others.map(async (task, i) => {
        await sleep(Math.random() * 30);
        await lifecycle.settle(store, task, i % 3 ? { status: 'SUCCESS', resultUrls: ['https://cdn/y.png'], consumedCredits: 5 } : { status: 'FAILED', errorMessage: 'no' });
      });
      for (const outcome of await Promise.allSettled([...racers, ...settlers])) {
        if (outcome.status === 'rejected') failures.push(outcome.reason);
      }
      expect(claimed).toHaveLength(1);
    }
    // No deadlock (40P01), no error of any kind.
    expect(failures).toEqual([]);

    const db = store.db;
    for (let round = 0; round < ROUNDS; round++) {
      const tasks = await db.task.findMany({ where: { tenantId, idempotencyKey: `key-${round}` } });
      expect(tasks).toHaveLength(1);
      expect(await db.transfer.count({ where: { kind: 'CHARGE', reference: `task:${tasks[0]!.id}` } })).toBe(1);
    }
    // Every task upstream accepted was charged.
    expect(await db.task.count({ where: { upstreamTaskId: { not: null }, chargeId: null } })).toBe(0);
    expect(await db.task.count({ where: { status: { in: ['SUBMITTING', 'IN_PROGRESS'] } } })).toBe(0);
    expect(await verifyLedger(db)).toEqual([]);
  }, 180_000);
});

describe('over HTTP, through three gateway processes on one database', () => {
  let gw: TestGateway;
  const more: Gateway[] = [];
  beforeAll(async () => {
    // 200 generations a minute, shared by the three processes: the replays take none (80 new tasks in all).
    // The operation budget is out of the way (2,460 requests); test/hardening/budgets.test.ts covers it.
    const env = { TENANT_MAX_IN_FLIGHT: '10000', TENANT_RATE_PER_MINUTE: '200', TENANT_REQUESTS_PER_MINUTE: '100000', DATABASE_POOL_SIZE: '20' };
    gw = await startTestGateway(env);
    // Two more processes' worth of gateway on the same database: their own pools, single-flights and in-memory fronts of the shared budgets.
    for (let i = 0; i < 2; i++) {
      more.push(await startGatewayOn(gw.databaseUrl, gw.simulator, { TASK_POLL_INITIAL_MS: '50', TASK_POLL_MAX_MS: '300', TASK_POLL_INTERVAL_MS: '25', ...env }));
    }
  });
  afterAll(async () => {
    for (const g of more) await g.close();
    await gw?.stop();
  });

  it(`${ROUNDS} rounds of ${DUPLICATES} identical textToImage with one key: one task and one charge each, no 5xx, no RATE_LIMITED`, async () => {
    const t = await gw.createTenant('hostile', 100_000);
    const urls = [gw.graphqlUrl, ...more.map((g) => g.graphqlUrl)];
    const MUTATION = `mutation($input: TextToImageInput!) { textToImage(input: $input) {
      __typename ... on MutationTextToImageSuccess { data { id } } ... on Error { code message } } }`;
    type Answer = GraphQLResponse<{ textToImage: { __typename: string; data?: { id: string }; code?: string } }>;
    const others: Promise<Answer>[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Meanwhile the tenant's other tasks are submitted, accepted and settled (simulator latency 30-80 ms).
      for (let i = 0; i < 3; i++) {
        others.push(gql(urls[i % 3]!, MUTATION, { token: t.key, variables: { input: { prompt: `other ${round}.${i}` } } }));
      }
      const answers = await Promise.all(
        Array.from({ length: DUPLICATES }, (_, i) =>
          gql<Answer['data']>(urls[i % 3]!, MUTATION, { token: t.key, variables: { input: { prompt: 'again', idempotencyKey: `k-${round}` } } }),
        ),
      );
      expect(answers.filter((a) => a.status !== 200 || a.errors)).toEqual([]);
      const kinds = new Set(answers.map((a) => a.data!.textToImage.__typename));
      expect([...kinds]).toEqual(['MutationTextToImageSuccess']);
      expect(new Set(answers.map((a) => a.data!.textToImage.data!.id)).size).toBe(1);
    }
    for (const other of await Promise.all(others)) expect(other.data!.textToImage.__typename).toBe('MutationTextToImageSuccess');

    const db = gw.deps.db;
    const tenantId = Buffer.from(t.id, 'base64').toString().split(':')[1]!;
    const keyed = await db.task.findMany({ where: { tenantId, idempotencyKey: { not: null } } });
    expect(keyed).toHaveLength(ROUNDS);
    await Promise.all(keyed.map((task) => waitForEnd(gw, t.key, Buffer.from(`Task:${task.id}`).toString('base64'))));
    for (const task of keyed) expect(await db.transfer.count({ where: { kind: 'CHARGE', reference: `task:${task.id}` } })).toBe(1);
    // Nothing upstream accepted was left uncharged, and no task ended "nothing was charged".
    expect(await db.task.count({ where: { errorMessage: { contains: 'nothing was charged' } } })).toBe(0);
    expect(gw.simulator.counters().tasks.created).toBe(await db.task.count({ where: { upstreamTaskId: { not: null }, chargeId: { not: null } } }));
    expect(await verifyLedger(db)).toEqual([]);
  }, 240_000);
});
