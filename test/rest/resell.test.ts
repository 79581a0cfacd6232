// A gateway can resell another gateway: gateway A's upstream is gateway B's
// REST facade, reached with the project's own upstream client and a tenant key
// of B. A tenant of A runs all four models end to end (and one task that fails
// upstream); then both ledgers balance, and what A mirrored as upstream spend
// is exactly what B charged A's account, refunds included.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Gateway } from '../../src/app.ts';
import { verifyLedger } from '../../src/ledger/verify.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { ADMIN_TOKEN, startGatewayOn, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { gql, rowId, success, type ResultUnion } from '../helpers/graphql.ts';
import { balanceOf, generateOk, waitForEnd } from '../helpers/tasks.ts';

let b: TestGateway;
let a: Gateway;
let aDatabase: TestDatabase;
/** A as the task helpers see a test gateway: its GraphQL endpoint. */
let aClient: TestGateway;

beforeAll(async () => {
  b = await startTestGateway();
  aDatabase = await createTestDatabase();
  await aDatabase.prisma.$disconnect();
  const reseller = await b.createTenant('gateway-a', 1000);
  a = await startGatewayOn(
    aDatabase.url,
    { url: `${b.url}/api`, apiKey: reseller.key },
    { TASK_POLL_INITIAL_MS: '50', TASK_POLL_MAX_MS: '300', TASK_POLL_INTERVAL_MS: '25', SSRF_ALLOW_HOSTS: '127.0.0.1,localhost' },
  );
  aClient = { gql: (query: string, variables?: Record<string, unknown>, token: string | null = ADMIN_TOKEN) => gql(a.graphqlUrl, query, { variables, token }) } as unknown as TestGateway;
  resellerTenantId = rowId(reseller.id);
}, 60_000);
afterAll(async () => {
  await a?.close();
  await aDatabase?.drop();
  await b?.stop();
});

let resellerTenantId: string;

async function createTenantOnA(credits: number): Promise<string> {
  const created = await aClient.gql<{ createTenant: ResultUnion<{ id: string }> }>(
    `mutation { createTenant(input: { name: "end customer" }) { __typename ... on MutationCreateTenantSuccess { data { id } } } }`,
  );
  const id = success(created.data!.createTenant).id;
  const topped = await aClient.gql<{ topUpCredits: ResultUnion<unknown> }>(
    `mutation($id: ID!) { topUpCredits(input: { tenantId: $id, amount: ${credits}, idempotencyKey: "initial" }) { __typename ... on Error { code message } } }`,
    { id },
  );
  success(topped.data!.topUpCredits);
  const issued = await aClient.gql<{ issueApiKey: ResultUnion<{ secret: string }> }>(
    `mutation($id: ID!) { issueApiKey(input: { tenantId: $id }) { __typename ... on MutationIssueApiKeySuccess { data { secret } } } }`,
    { id },
  );
  return success(issued.data!.issueApiKey).secret;
}

async function sumOf(db: Gateway['deps']['db'], where: Record<string, unknown>): Promise<number> {
  const sum = await db.transfer.aggregate({ where, _sum: { amount: true } });
  return sum._sum.amount ?? 0;
}

it('runs all four models through a gateway whose upstream is another gateway; both books agree', async () => {
  const key = await createTenantOnA(500);
  const image = await generateOk(aClient, key, 'textToImage', { prompt: 'a lighthouse' });
  const video = await generateOk(aClient, key, 'textToVideo', { prompt: 'waves' });
  expect(await waitForEnd(aClient, key, image.id)).toMatchObject({ status: 'SUCCESS', creditsCharged: 5 });
  const animated = await generateOk(aClient, key, 'imageToVideo', { sourceTaskId: image.id, prompt: 'make it move' });
  const upscaled = await generateOk(aClient, key, 'upscale', { sourceTaskId: image.id });
  const ended = await Promise.all([video, animated, upscaled].map((t) => waitForEnd(aClient, key, t.id)));
  expect(ended.map((t) => [t.model, t.status, t.creditsCharged])).toEqual([
    ['TEXT_TO_VIDEO', 'SUCCESS', 24],
    ['IMAGE_TO_VIDEO', 'SUCCESS', 24],
    ['UPSCALE', 'SUCCESS', 12],
  ]);
  // The results are B's simulator's files, handed through both gateways.
  for (const t of ended) expect(t.resultUrls[0]).toMatch(new RegExp(`^${b.simulator.origin}/files/`));

  // A task that fails at the bottom is refunded at every level, once.
  b.simulator.configure({ failureRate: 1 });
  try {
    const doomed = await generateOk(aClient, key, 'textToVideo', { prompt: 'doomed' });
    expect(await waitForEnd(aClient, key, doomed.id)).toMatchObject({ status: 'FAILED', refunded: true });
  } finally {
    b.simulator.configure({ failureRate: 0 });
  }
  expect(await balanceOf(aClient, key)).toEqual({ available: 500 - 5 - 24 - 24 - 12, held: 0 });

  // A's upstream ids are B's task ids, and B knows them as REST tasks of A's account there.
  const aTasks = await a.deps.db.task.findMany({ orderBy: { createdAt: 'asc' } });
  expect(aTasks).toHaveLength(5);
  const bTasks = await b.deps.db.task.findMany({ where: { id: { in: aTasks.map((t) => t.upstreamTaskId!) } } });
  expect(bTasks).toHaveLength(5);
  for (const t of bTasks) expect([t.tenantId, t.origin]).toEqual([resellerTenantId, 'REST']);
  // B's upscale and image-to-video name B's own image task: A translated its ids on the way.
  const bImage = aTasks[0]!.upstreamTaskId;
  expect(bTasks.filter((t) => t.sourceTaskId === bImage)).toHaveLength(2);

  // Both books balance; what A mirrored as upstream spend is what B charged A's account.
  expect(await verifyLedger(a.deps.db)).toEqual([]);
  expect(await verifyLedger(b.deps.db)).toEqual([]);
  const mirrored = (await sumOf(a.deps.db, { kind: 'UPSTREAM_CHARGE' })) - (await sumOf(a.deps.db, { kind: 'UPSTREAM_REFUND' }));
  const charged =
    (await sumOf(b.deps.db, { kind: 'CHARGE', tenantId: resellerTenantId })) - (await sumOf(b.deps.db, { kind: 'REFUND', tenantId: resellerTenantId }));
  expect(mirrored).toBe(5 + 24 + 24 + 12);
  expect(charged).toBe(mirrored);
  const account = await b.deps.db.account.findUniqueOrThrow({ where: { tenantId: resellerTenantId } });
  expect(1000 - account.available).toBe(mirrored);
  // And what B reported as consumed is what A recorded per task.
  const reported = (await a.deps.db.task.findMany()).reduce((sum, t) => sum + (t.upstreamCredits ?? 0), 0);
  expect(reported).toBe(mirrored);
}, 60_000);
