// Two gateway processes on one PostgreSQL and no Redis: B submits and
// settles, A only serves a subscriber. Every change B commits reaches A's
// `tasksUpdated` (NOTIFY in the transaction, LISTEN in each process), and
// B SIGKILLed in the middle of a burst of settlements loses no event: every
// settlement that committed was announced with it.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/app.ts';
import { startSimulator, type SimulatorHandle } from '../../src/simulator/server.ts';
import { verifyLedger } from '../../src/ledger/verify.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { ADMIN_TOKEN, startGatewayOn } from '../helpers/gateway.ts';
import { gql, success, type ResultUnion } from '../helpers/graphql.ts';
import { startGatewayProcess, type GatewayProcess } from '../helpers/process.ts';
import { collect, wsClient } from '../helpers/ws.ts';

const TASKS = 60;

let simulator: SimulatorHandle;
let database: TestDatabase;
let a: Gateway;

/** B: a gateway process of its own that polls fast and settles a few tasks at a time. */
function startB(): Promise<GatewayProcess> {
  return startGatewayProcess({
    DATABASE_URL: database.url,
    UPSTREAM_URL: simulator.url,
    UPSTREAM_API_KEY: simulator.apiKey,
    TASK_POLL_INITIAL_MS: '50',
    TASK_POLL_MAX_MS: '100',
    TASK_POLL_INTERVAL_MS: '20',
    TASK_POLL_BATCH: '3',
    TASK_LEASE_MS: '1000',
    TENANT_RATE_PER_MINUTE: '100000',
    TENANT_MAX_IN_FLIGHT: '1000',
    LOG_LEVEL: 'silent',
  });
}

beforeAll(async () => {
  // Tasks stay in progress until the test completes them all at once.
  simulator = await startSimulator({ latencyMs: '600000' });
  database = await createTestDatabase();
  // A never polls: only B settles.
  a = await startGatewayOn(database.url, simulator, { TASK_POLL_INTERVAL_MS: '3600000' });
}, 60_000);

afterAll(async () => {
  await a?.close();
  await simulator?.stop();
  await database?.drop();
});

async function tenantKey(): Promise<string> {
  const created = await gql<{ createTenant: ResultUnion<{ id: string }> }>(
    a.graphqlUrl,
    `mutation { createTenant(input: { name: "two" }) { __typename ... on MutationCreateTenantSuccess { data { id } } } }`,
    { token: ADMIN_TOKEN },
  );
  const id = success(created.data!.createTenant).id;
  await gql(a.graphqlUrl, `mutation($id: ID!) { topUpCredits(input: { tenantId: $id, amount: 10000, idempotencyKey: "k" }) { __typename } }`, {
    token: ADMIN_TOKEN,
    variables: { id },
  });
  const issued = await gql<{ issueApiKey: ResultUnion<{ secret: string }> }>(
    a.graphqlUrl,
    `mutation($id: ID!) { issueApiKey(input: { tenantId: $id }) { __typename ... on MutationIssueApiKeySuccess { data { secret } } } }`,
    { token: ADMIN_TOKEN, variables: { id } },
  );
  return success(issued.data!.issueApiKey).secret;
}

describe('two gateway processes, PostgreSQL only', () => {
  it("A's subscriber sees every change B makes, and B SIGKILLed mid-settlement loses no event", async () => {
    const key = await tenantKey();
    const client = wsClient(a.graphqlUrl, key);
    let b = await startB();
    try {
      const events = collect<{ id: string; status: string }>(client, `subscription { tasksUpdated { id status } }`);
      await new Promise((r) => setTimeout(r, 300));
      const ids = await Promise.all(
        Array.from({ length: TASKS }, async (_, i) => {
          const res = await gql<{ textToImage: ResultUnion<{ id: string }> }>(
            b.graphqlUrl,
            `mutation($p: String!) { textToImage(input: { prompt: $p }) { __typename ... on MutationTextToImageSuccess { data { id } } } }`,
            { token: key, variables: { p: `two ${i}` } },
          );
          return success(res.data!.textToImage).id;
        }),
      );
      // Every change B committed so far, heard on A, in order per task.
      await events.next(2 * TASKS, 20_000);
      const statuses = (id: string) => events.items.filter((e) => e.id === id).map((e) => e.status);
      for (const id of ids) expect(statuses(id)).toEqual(['SUBMITTING', 'IN_PROGRESS']);

      // Upstream finishes everything at once; B settles a few at a time and is killed in the middle.
      simulator.completeNow();
      const uuids = ids.map((id) => Buffer.from(id, 'base64').toString().split(':')[1]!);
      const ended = () => database.prisma.task.count({ where: { id: { in: uuids }, status: { in: ['SUCCESS', 'FAILED'] } } });
      while ((await ended()) < TASKS / 4) await new Promise((r) => setTimeout(r, 5));
      await b.stop('SIGKILL');
      const committed = await database.prisma.task.findMany({ where: { id: { in: uuids }, status: { in: ['SUCCESS', 'FAILED'] } } });
      expect(committed.length).toBeGreaterThan(0);
      expect(committed.length).toBeLessThan(TASKS);
      // Every settlement that committed before the kill is heard, its process dead or not.
      await new Promise((r) => setTimeout(r, 1000));
      const heardEnded = new Set(events.items.filter((e) => e.status === 'SUCCESS').map((e) => e.id));
      for (const task of committed) expect(heardEnded.has(Buffer.from(`Task:${task.id}`).toString('base64'))).toBe(true);

      // A new B takes over the leases of the dead one and settles the rest; A hears those too.
      b = await startB();
      await events.next(3 * TASKS, 30_000);
      for (const id of ids) expect(statuses(id)).toEqual(['SUBMITTING', 'IN_PROGRESS', 'SUCCESS']);
      expect(await verifyLedger(database.prisma)).toEqual([]);
      events.stop();
    } finally {
      await client.dispose();
      await b.stop('SIGKILL');
    }
  }, 120_000);

  it('a process killed the instant its settlement committed, before running another line, loses no event', async () => {
    const key = await tenantKey();
    const client = wsClient(a.graphqlUrl, key);
    try {
      const events = collect<{ id: string; status: string; resultUrls: string[] }>(client, `subscription { tasksUpdated { id status resultUrls } }`);
      await new Promise((r) => setTimeout(r, 300));
      const res = await gql<{ textToImage: ResultUnion<{ id: string }> }>(
        a.graphqlUrl,
        `mutation { textToImage(input: { prompt: "last words" }) { __typename ... on MutationTextToImageSuccess { data { id } } } }`,
        { token: key },
      );
      const id = success(res.data!.textToImage).id;
      await events.next(2, 10_000);
      const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/settle-and-die.ts', database.url, Buffer.from(id, 'base64').toString().split(':')[1]!], {
        stdio: 'inherit',
      });
      const death = await new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
      expect(death).toBe('SIGKILL');
      expect((await events.next(3, 10_000))[2]).toEqual({ id, status: 'SUCCESS', resultUrls: ['https://cdn.example/after-death.png'] });
      events.stop();
    } finally {
      await client.dispose();
    }
  }, 60_000);
});
