// Finding 4 of the hardening issue: reads had no per-tenant budget, and the
// generation rate limit was per process (N processes allowed N times the
// rate). Now every tenant operation takes from a budget, and generations
// from theirs, counted across processes: in PostgreSQL by default, in Redis
// with REDIS_URL (src/limits/). Over a budget: RATE_LIMITED with a retry
// hint, 429 with Retry-After on HTTP and SSE.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/app.ts';
import { startGatewayOn, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { rowId } from '../helpers/graphql.ts';
import { generate } from '../helpers/tasks.ts';
import { overHttp, overSse, overWebSocket } from '../helpers/transports.ts';

const READ = '{ prices { model credits } }';

const STORES = {
  PostgreSQL: {},
  Redis: { REDIS_URL: 'redis://127.0.0.1:6379' },
} as const;

describe.each(Object.entries(STORES))('shared through %s', (store, env) => {
  const limits = { ...env, TENANT_REQUESTS_PER_MINUTE: '20', TENANT_RATE_PER_MINUTE: '5', TENANT_MAX_IN_FLIGHT: '100' };
  let gw: TestGateway;
  let other: Gateway;
  beforeAll(async () => {
    gw = await startTestGateway(limits);
    other = await startGatewayOn(gw.databaseUrl, { url: gw.simulator.url, apiKey: gw.simulator.apiKey }, limits);
  });
  afterAll(async () => {
    await other?.close();
    await gw?.stop();
  });

  it('a tenant has 20 operations a minute across both processes and every transport, then RATE_LIMITED; another tenant is not touched', async () => {
    // Keys in Redis outlive the test database: fresh tenants each run.
    const greedy = await gw.createTenant(`greedy ${store}`, 10);
    const bystander = await gw.createTenant(`bystander ${store}`, 10);
    const answers = [];
    for (let i = 0; i < 12; i++) answers.push(await overHttp(gw.graphqlUrl, { query: READ, token: greedy.key }));
    for (let i = 0; i < 4; i++) answers.push(await overHttp(other.graphqlUrl, { query: READ, token: greedy.key }));
    answers.push(await overSse(other.graphqlUrl, { query: READ, token: greedy.key }));
    answers.push(await overWebSocket(gw.graphqlUrl, { query: READ, token: greedy.key }));
    for (let i = 0; i < 2; i++) answers.push(await overHttp(other.graphqlUrl, { query: READ, token: greedy.key }));
    expect(answers.map((a) => a.errors)).toEqual(Array.from({ length: 20 }, () => []));

    const http = await overHttp(other.graphqlUrl, { query: READ, token: greedy.key });
    expect(http.status).toBe(429);
    expect(Number(http.retryAfter)).toBeGreaterThan(0);
    expect(http.errors).toMatchObject([{ extensions: { code: 'RATE_LIMITED', retryAfterSeconds: Number(http.retryAfter) } }]);
    expect(http.errors[0]!.message).toMatch(/at most 20 operations per minute for this tenant; retry in \d+ s/);
    const sse = await overSse(gw.graphqlUrl, { query: READ, token: greedy.key });
    expect(sse.status).toBe(429);
    expect(sse.retryAfter).toMatch(/^\d+$/);
    expect(sse.errors.map((e) => e.extensions?.code)).toEqual(['RATE_LIMITED']);
    const ws = await overWebSocket(other.graphqlUrl, { query: READ, token: greedy.key });
    expect(ws.errors).toMatchObject([{ extensions: { code: 'RATE_LIMITED' } }]);

    expect((await overHttp(gw.graphqlUrl, { query: READ, token: bystander.key })).errors).toEqual([]);
  });

  it('generations: 5 a minute across both processes, then a RateLimitedError with the seconds to wait', async () => {
    const t = await gw.createTenant(`maker ${store}`, 1000);
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await generate(gw, t.key, 'textToImage', { prompt: `a${i}` }));
    const viaOther = async (prompt: string) =>
      (
        await overHttp(other.graphqlUrl, {
          query: `mutation($p: String!) { textToImage(input: { prompt: $p }) { __typename ... on RateLimitedError { code retryAfterSeconds } } }`,
          variables: { p: prompt },
          token: t.key,
        })
      ).data as { textToImage: { __typename: string; code?: string; retryAfterSeconds?: number } };
    const fourth = await viaOther('b0');
    const fifth = await viaOther('b1');
    const sixth = await viaOther('b2');
    expect(results.map((r) => r.__typename)).toEqual(Array(3).fill('MutationTextToImageSuccess'));
    expect([fourth.textToImage.__typename, fifth.textToImage.__typename]).toEqual(['MutationTextToImageSuccess', 'MutationTextToImageSuccess']);
    expect(sixth.textToImage).toMatchObject({ __typename: 'RateLimitedError', code: 'RATE_LIMITED' });
    expect(sixth.textToImage.retryAfterSeconds).toBeGreaterThan(0);
    expect((await generate(gw, t.key, 'textToImage', { prompt: 'a9' })).__typename).toBe('RateLimitedError');
  });
});

describe('the in-memory front', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ TENANT_REQUESTS_PER_MINUTE: '1200' });
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('a tenant within its budget costs the store one increment per block of 60 operations, not one per request', async () => {
    const t = await gw.createTenant('front', 10);
    for (let i = 0; i < 30; i++) expect((await overHttp(gw.graphqlUrl, { query: READ, token: t.key })).errors).toEqual([]);
    const rows = await gw.deps.db.rateLimit.findMany({ where: { key: `requests:${rowId(t.id)}` } });
    expect(rows.map((r) => r.points)).toEqual([60]);
  });
});
