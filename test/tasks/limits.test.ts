import { afterAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { balanceOf, generate, waitForEnd } from '../helpers/tasks.ts';

const gateways: TestGateway[] = [];
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
});

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
