import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyLedger } from '../../src/ledger/verify.ts';
import { startSimulator, type SimulatorHandle } from '../../src/simulator/server.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { ADMIN_TOKEN } from '../helpers/gateway.ts';
import { startGatewayProcess, type GatewayProcess } from '../helpers/process.ts';
import { gql } from '../helpers/graphql.ts';

let simulator: SimulatorHandle;
let database: TestDatabase;
const children: GatewayProcess[] = [];

beforeAll(async () => {
  simulator = await startSimulator({ latencyMs: '800-2000', seed: 7, failureRate: 0.3 });
  database = await createTestDatabase();
});
afterAll(async () => {
  await Promise.all(children.map((c) => c.stop('SIGKILL')));
  await simulator?.stop();
  await database?.drop();
});

function startGateway() {
  // The simulator lives in the test process, so it outlives the gateway we kill.
  return startGatewayProcess({
    DATABASE_URL: database.url,
    UPSTREAM_URL: simulator.url,
    UPSTREAM_API_KEY: simulator.apiKey,
    UPSTREAM_TIMEOUT_MS: '1000',
    UPSTREAM_RETRY_DEADLINE_MS: '1000',
    TASK_SUBMIT_TIMEOUT_MS: '3000',
    TASK_LEASE_MS: '1000',
    TASK_POLL_INITIAL_MS: '200',
    TASK_POLL_MAX_MS: '500',
    TASK_POLL_INTERVAL_MS: '50',
  });
}

type Submit = { textToImage: { __typename: string; data?: { id: string } } };

describe('kill -9 and restart', () => {
  it('every task in flight when the gateway is killed still ends correctly settled', async () => {
    const first = await startGateway();
    children.push(first);
    const created = await gql<{ createTenant: { data: { id: string } } }>(
      first.graphqlUrl,
      `mutation { createTenant(input: { name: "survivor" }) { ... on MutationCreateTenantSuccess { data { id } } } }`,
      { token: ADMIN_TOKEN },
    );
    const tenantId = created.data!.createTenant.data.id;
    await gql(first.graphqlUrl, `mutation($id: ID!) { topUpCredits(input: { tenantId: $id, amount: 1000, idempotencyKey: "k" }) { __typename } }`, {
      token: ADMIN_TOKEN,
      variables: { id: tenantId },
    });
    const issued = await gql<{ issueApiKey: { data: { secret: string } } }>(
      first.graphqlUrl,
      `mutation($id: ID!) { issueApiKey(input: { tenantId: $id }) { ... on MutationIssueApiKeySuccess { data { secret } } } }`,
      { token: ADMIN_TOKEN, variables: { id: tenantId } },
    );
    const key = issued.data!.issueApiKey.data.secret;

    // 30 submissions; kill the process once about half have been answered.
    let answered = 0;
    const submissions = Array.from({ length: 30 }, (_, i) =>
      gql<Submit>(first.graphqlUrl, `mutation { textToImage(input: { prompt: "survive ${i}" }) { __typename ... on MutationTextToImageSuccess { data { id } } } }`, { token: key })
        .then((r) => {
          answered++;
          return r;
        })
        .catch(() => null),
    );
    while (answered < 15) await new Promise((r) => setTimeout(r, 5));
    first.child.kill('SIGKILL');
    await Promise.all(submissions);
    const db = database.prisma;
    const unfinished = await db.task.count({ where: { status: { in: ['SUBMITTING', 'IN_PROGRESS'] } } });
    expect(unfinished).toBeGreaterThan(0);

    const second = await startGateway();
    children.push(second);
    const deadline = Date.now() + 30_000;
    while ((await db.task.count({ where: { status: { in: ['SUBMITTING', 'IN_PROGRESS'] } } })) > 0) {
      if (Date.now() > deadline) throw new Error('tasks did not end after restart');
      await new Promise((r) => setTimeout(r, 200));
    }
    const tasks = await db.task.findMany();
    for (const task of tasks) {
      if (task.status === 'FAILED') {
        // Either refunded after acceptance, or never charged.
        expect(task.refunded || task.creditsCharged === 0).toBe(true);
      }
    }
    const me = await gql<{ me: { balance: { available: number; held: number } } }>(second.graphqlUrl, `{ me { balance { available held } } }`, { token: key });
    const charged = tasks.filter((t) => t.status === 'SUCCESS').reduce((sum, t) => sum + t.creditsCharged, 0);
    expect(me.data!.me.balance).toEqual({ available: 1000 - charged, held: 0 });
    expect(await verifyLedger(db)).toEqual([]);
    await second.stop();
  }, 90_000);
});
