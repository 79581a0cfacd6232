import { afterAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/app.ts';
import { startGatewayOn, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { gql } from '../helpers/graphql.ts';
import { balanceOf, generate, type GenerationResult, waitForEnd } from '../helpers/tasks.ts';

const gateways: TestGateway[] = [];
/** Gateways started on another one's database: closed before it drops it. */
const extra: Gateway[] = [];
afterAll(async () => {
  await Promise.all(extra.map((g) => g.close()));
  await Promise.all(gateways.map((g) => g.stop()));
});

/** textToImage through any gateway's URL. */
async function submitVia(graphqlUrl: string, key: string, prompt: string): Promise<GenerationResult> {
  const res = await gql<{ textToImage: GenerationResult }>(
    graphqlUrl,
    `mutation($p: String!) { textToImage(input: { prompt: $p }) {
       __typename ... on Error { code message } ... on RateLimitedError { retryAfterSeconds }
       ... on MutationTextToImageSuccess { data { id status } } } }`,
    { token: key, variables: { p: prompt } },
  );
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data!.textToImage;
}

describe('per-tenant limits', () => {
  it('beyond TENANT_MAX_IN_FLIGHT tasks, RATE_LIMITED until some finish', async () => {
    const gw = await startTestGateway({ TENANT_MAX_IN_FLIGHT: '3', SIMULATOR_LATENCY_MS: '60000' });
    gateways.push(gw);
    const t = await gw.createTenant('in-flight', 100);
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => generate(gw, t.key, 'textToImage', { prompt: `p${i}` })));
    const ok = results.filter((r) => r.__typename.endsWith('Success'));
    const limited = results.filter((r) => r.code === 'RATE_LIMITED');
    expect(ok).toHaveLength(3);
    expect(limited).toHaveLength(3);
    expect(limited[0]!.retryAfterSeconds).toBeGreaterThan(0);
    expect(await balanceOf(gw, t.key)).toEqual({ available: 85, held: 0 });
    // Another tenant is not affected.
    const other = await gw.createTenant('other', 10);
    expect((await generate(gw, other.key, 'textToImage', { prompt: 'free' })).__typename).toMatch(/Success$/);

    gw.simulator.completeNow();
    await Promise.all(ok.map((r) => waitForEnd(gw, t.key, r.data!.id)));
    expect((await generate(gw, t.key, 'textToImage', { prompt: 'again' })).__typename).toMatch(/Success$/);
  });

  it('TENANT_MAX_IN_FLIGHT is exact across two gateways on one database, under concurrent submits', async () => {
    const LIMIT = 4;
    const PER_GATEWAY = 8;
    const env = { TENANT_MAX_IN_FLIGHT: String(LIMIT), TENANT_RATE_PER_MINUTE: '100000' };
    // Tasks stay in progress until the test completes them.
    const gw = await startTestGateway({ ...env, SIMULATOR_LATENCY_MS: '600000' });
    gateways.push(gw);
    const other = await startGatewayOn(gw.databaseUrl, gw.simulator, env);
    extra.push(other);
    const t = await gw.createTenant('across', 1000);
    const tenantId = Buffer.from(t.id, 'base64').toString().split(':')[1]!;
    const db = gw.deps.db;
    let available = 1000;
    for (let round = 1; round <= 3; round++) {
      // Both gateways at once, interleaved: 2 × PER_GATEWAY submits racing for LIMIT slots.
      const results = await Promise.all(
        Array.from({ length: 2 * PER_GATEWAY }, (_, i) => submitVia((i % 2 ? other : gw).graphqlUrl, t.key, `round ${round} #${i}`)),
      );
      const ok = results.filter((r) => r.__typename.endsWith('Success'));
      const refused = results.filter((r) => !r.__typename.endsWith('Success'));
      // Exactly LIMIT in all, whichever gateway took them; every other one RATE_LIMITED.
      expect(ok).toHaveLength(LIMIT);
      expect(refused.map((r) => r.code)).toEqual(Array(2 * PER_GATEWAY - LIMIT).fill('RATE_LIMITED'));
      // The database agrees: LIMIT slots taken, LIMIT tasks in flight, LIMIT prices charged.
      expect((await db.account.findUniqueOrThrow({ where: { tenantId } })).inFlight).toBe(LIMIT);
      expect(await db.task.count({ where: { tenantId, status: { in: ['SUBMITTING', 'IN_PROGRESS'] } } })).toBe(LIMIT);
      available -= 5 * LIMIT;
      expect(await balanceOf(gw, t.key)).toEqual({ available, held: 0 });

      // Upstream finishes them: the slots come back, for the next round.
      gw.simulator.completeNow();
      await Promise.all(ok.map((r) => waitForEnd(gw, t.key, r.data!.id)));
      expect((await db.account.findUniqueOrThrow({ where: { tenantId } })).inFlight).toBe(0);
    }
  });

  it('beyond TENANT_RATE_PER_MINUTE requests, RATE_LIMITED with the seconds to wait', async () => {
    const gw = await startTestGateway({ TENANT_RATE_PER_MINUTE: '5' });
    gateways.push(gw);
    const t = await gw.createTenant('per-minute', 100);
    const results = [];
    for (let i = 0; i < 7; i++) results.push(await generate(gw, t.key, 'textToImage', { prompt: `p${i}` }));
    expect(results.slice(0, 5).every((r) => r.__typename.endsWith('Success'))).toBe(true);
    for (const r of results.slice(5)) {
      expect(r.code).toBe('RATE_LIMITED');
      expect(r.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(r.message).toMatch(/retry in \d+ s/);
    }
    expect(await balanceOf(gw, t.key)).toMatchObject({ available: 75 });
  });
});
