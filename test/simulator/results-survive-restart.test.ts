// The simulator's result URLs outlive the process that made them: the files
// are kept under DATA_DIR/simulator/files and the gateway serves them on its
// own address, so a task's resultUrls still answer, with the same bytes, after
// the gateway restarts on the same DATA_DIR (not on the simulator's random
// port, which dies with the process).
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { freePort } from '../../src/db/embedded.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { ADMIN_TOKEN, type TestGateway } from '../helpers/gateway.ts';
import { gql, success, type ResultUnion } from '../helpers/graphql.ts';
import { generateOk, getTask, waitForEnd } from '../helpers/tasks.ts';
import { clientFor, startTestSimulator } from '../upstream/helpers.ts';

let dataDir: string;
let database: TestDatabase;
let port: number;
const running: Gateway[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'gateway-results-'));
  database = await createTestDatabase();
  port = await freePort();
});
afterAll(async () => {
  for (const gateway of running) await gateway.close();
  await database?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

/** The gateway as `npm start` runs it with the simulator, on a fixed port and DATA_DIR. */
async function start(): Promise<{ gateway: Gateway; client: TestGateway }> {
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: String(port),
    DATABASE_URL: database.url,
    ADMIN_TOKEN,
    UPSTREAM_SIMULATOR: 'true',
    SEED_DEMO_TENANT: 'false',
    LOG_LEVEL: 'silent',
    DATA_DIR: dataDir,
    SIMULATOR_LATENCY_MS: '30-80',
    TASK_POLL_INITIAL_MS: '50',
    TASK_POLL_MAX_MS: '300',
    TASK_POLL_INTERVAL_MS: '25',
  });
  const gateway = await startGateway(config, { logger: createLogger('silent'), migrate: false });
  running.push(gateway);
  const client = {
    gql: (query: string, variables?: Record<string, unknown>, token: string | null = ADMIN_TOKEN) =>
      gql(gateway.graphqlUrl, query, { variables, token }),
  } as unknown as TestGateway;
  return { gateway, client };
}

async function stop(gateway: Gateway): Promise<void> {
  running.splice(running.indexOf(gateway), 1);
  await gateway.close();
}

async function tenantKey(client: TestGateway): Promise<string> {
  const created = await client.gql<{ createTenant: ResultUnion<{ id: string }> }>(
    `mutation { createTenant(input: { name: "results" }) { __typename ... on MutationCreateTenantSuccess { data { id } } } }`,
  );
  const id = success(created.data!.createTenant).id;
  await client.gql(`mutation($id: ID!) { topUpCredits(input: { tenantId: $id, amount: 100, idempotencyKey: "r" }) { __typename } }`, { id });
  const issued = await client.gql<{ issueApiKey: ResultUnion<{ secret: string }> }>(
    `mutation($id: ID!) { issueApiKey(input: { tenantId: $id }) { __typename ... on MutationIssueApiKeySuccess { data { secret } } } }`,
    { id },
  );
  return success(issued.data!.issueApiKey).secret;
}

async function download(url: string): Promise<{ status: number; type: string | null; body: Buffer }> {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()) };
}

describe('simulator results across a gateway restart', () => {
  it('answer on the same URL with the same bytes after the gateway restarts on the same DATA_DIR', async () => {
    const first = await start();
    const key = await tenantKey(first.client);
    const started = await Promise.all([
      generateOk(first.client, key, 'textToImage', { prompt: 'kept' }),
      generateOk(first.client, key, 'textToVideo', { prompt: 'kept too' }),
    ]);
    const ended = await Promise.all(started.map((t) => waitForEnd(first.client, key, t.id)));
    expect(ended.map((t) => t.status)).toEqual(['SUCCESS', 'SUCCESS']);
    const urls = ended.map((t) => t.resultUrls[0]!);
    const before = await Promise.all(urls.map(download));
    for (const [i, url] of urls.entries()) {
      // On the gateway's own address, not the in-process simulator's.
      expect(url.startsWith(`${first.gateway.url}/simulator/files/`), url).toBe(true);
      expect(before[i]).toMatchObject({ status: 200, type: i === 0 ? 'image/png' : 'video/mp4' });
      expect(before[i]!.body.length).toBeGreaterThan(0);
      const [, id, name] = /\/simulator\/files\/([^/]+)\/(0\.\w+)$/.exec(url)!;
      expect(existsSync(path.join(dataDir, 'simulator', 'files', id!, name!))).toBe(true);
    }

    await stop(first.gateway);
    for (const url of urls) await expect(fetch(url)).rejects.toThrow();

    const second = await start();
    expect(second.gateway.url).toBe(first.gateway.url);
    const after = await Promise.all(urls.map(download));
    expect(after.map((a) => [a.status, a.type])).toEqual(before.map((b) => [b.status, b.type]));
    for (const [i, file] of after.entries()) expect(file.body.equals(before[i]!.body)).toBe(true);
    // What the tenant reads still points there.
    expect((await getTask(second.client, key, ended[0]!.id))!.resultUrls).toEqual([urls[0]]);
    const head = await fetch(urls[0]!, { method: 'HEAD' });
    expect([head.status, head.headers.get('content-length')]).toEqual([200, String(before[0]!.body.length)]);
  }, 60_000);

  it('serve nothing else: unknown ids, wrong extensions, other methods and paths outside the files', async () => {
    const { gateway } = running.length > 0 ? { gateway: running[0]! } : await start();
    const base = `${gateway.url}/simulator/files`;
    for (const bad of ['/nope/0.png', '/nope/0.gif', '/../admin-token', '/..%2F..%2Fadmin-token/0.png', '/x/1.png']) {
      expect((await fetch(base + bad)).status, bad).toBe(404);
    }
    expect((await fetch(`${base}/nope/0.png`, { method: 'POST' })).status).toBe(405);
  });
});

describe('the simulator on its own, with a files directory', () => {
  it('serves a result made by an earlier run on the same directory', async () => {
    const filesDir = path.join(dataDir, 'standalone');
    const first = await startTestSimulator({ filesDir });
    const client = clientFor(first);
    const { taskId } = await client.generate('grok-imagine/text-to-image', { prompt: 'p' });
    first.completeNow(taskId, 'SUCCESS');
    const url = (await client.status(taskId)).resultUrls[0]!;
    const before = await download(url);
    await client.close();
    await first.stop();

    const second = await startTestSimulator({ filesDir });
    try {
      expect(second.task(taskId)).toBeUndefined();
      const after = await download(url.replace(first.origin, second.origin));
      expect([after.status, after.type]).toEqual([200, 'image/png']);
      expect(after.body.equals(before.body)).toBe(true);
    } finally {
      await second.stop();
    }
  });
});
