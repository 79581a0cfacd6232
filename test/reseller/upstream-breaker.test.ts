import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/app.ts';
import { verifyLedger } from '../../src/ledger/verify.ts';
import { ADMIN_TOKEN, startGatewayOn, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { gql, rowId } from '../helpers/graphql.ts';
import { balanceOf, generate, waitForEnd } from '../helpers/tasks.ts';

// The upstream circuit breaker over real HTTP: the simulator runs out of
// credits (402) or refuses our key (401); the breaker opens on every process,
// refuses generations without holding or calling upstream, keeps following
// tasks in flight, and closes when a probe goes through.

let gw: TestGateway;
let second: Gateway;
beforeAll(async () => {
  // 12 upstream credits: two images (5 each), then 402.
  gw = await startTestGateway({ SIMULATOR_CREDITS: '12', SIMULATOR_LATENCY_MS: '300', UPSTREAM_PROBE_INITIAL_MS: '2500', UPSTREAM_PROBE_MAX_MS: '5000' });
  second = await startGatewayOn(gw.databaseUrl, { url: gw.simulator.url, apiKey: gw.simulator.apiKey }, {
    UPSTREAM_PROBE_INITIAL_MS: '2500',
    UPSTREAM_PROBE_MAX_MS: '5000',
  });
});
afterAll(async () => {
  await second?.close();
  await gw?.stop();
});

type Health = { state: string; since: string; lastError: string | null; probeAt: string | null };

async function health(url = gw.graphqlUrl): Promise<Health> {
  const res = await gql<{ upstreamHealth: Health }>(url, `{ upstreamHealth { state since lastError probeAt } }`, { token: ADMIN_TOKEN });
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data!.upstreamHealth;
}

/** Waits until the breaker lets the next generation through as its probe. */
async function untilProbe(): Promise<void> {
  const at = (await health()).probeAt;
  if (at) await new Promise((resolve) => setTimeout(resolve, Math.max(0, new Date(at).getTime() - Date.now() + 50)));
}

const generates = () => Object.values(gw.simulator.counters().requests['generate'] ?? {}).reduce((a, b) => a + b, 0);

describe('the upstream circuit breaker', () => {
  it('opens on 402, refuses at once holding nothing, keeps following tasks in flight, and closes after the simulator is topped up', async () => {
    const t = await gw.createTenant('breaker', 1000);
    expect((await health()).state).toBe('OK');
    const first = await generate(gw, t.key, 'textToImage', { prompt: 'one' });
    const secondTask = await generate(gw, t.key, 'textToImage', { prompt: 'two' });
    expect(first.__typename).toBe('MutationTextToImageSuccess');
    expect(secondTask.__typename).toBe('MutationTextToImageSuccess');

    // The 402: this request is refused (its hold voided), and the breaker opens.
    const refused = await generate(gw, t.key, 'textToImage', { prompt: 'three' });
    expect(refused).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    expect(refused.message).toMatch(/out of upstream credits/);
    const open = await health();
    expect(open).toMatchObject({ state: 'OUT_OF_CREDITS' });
    expect(open.lastError).toMatch(/generate/);
    expect(open.probeAt).not.toBeNull();

    // Refused at once, on this process and the other: nothing held, upstream not called.
    await expect.poll(async () => (await health(second.graphqlUrl)).state, { timeout: 5000 }).toBe('OUT_OF_CREDITS');
    const holds = await gw.deps.db.hold.count({ where: { tenantId: rowId(t.id) } });
    const calls = generates();
    for (const url of [gw.graphqlUrl, second.graphqlUrl]) {
      const res = await gql<{ textToImage: { code: string; message: string } }>(
        url,
        `mutation { textToImage(input: { prompt: "refused" }) { ... on Error { code message } } }`,
        { token: t.key },
      );
      expect(res.data!.textToImage).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
      expect(res.data!.textToImage.message).toMatch(/nothing was held/);
    }
    expect(await gw.deps.db.hold.count({ where: { tenantId: rowId(t.id) } })).toBe(holds);
    expect(generates()).toBe(calls);
    expect(await balanceOf(gw, t.key)).toEqual({ available: 990, held: 0 });

    // Tasks in flight are still followed to their end.
    expect((await waitForEnd(gw, t.key, first.data!.id)).status).toBe('SUCCESS');
    expect((await waitForEnd(gw, t.key, secondTask.data!.id)).status).toBe('SUCCESS');
    expect((await health()).state).toBe('OUT_OF_CREDITS');

    // A probe that meets 402 again: open for longer (2.5 s, then 5 s).
    await untilProbe();
    expect(await generate(gw, t.key, 'textToImage', { prompt: 'probe 1' })).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    expect(generates()).toBe(calls + 1);
    const reopened = await health();
    expect(reopened.state).toBe('OUT_OF_CREDITS');
    expect(new Date(reopened.probeAt!).getTime() - Date.now()).toBeGreaterThan(3000);

    // The reseller tops up upstream; the next probe goes through and closes the breaker everywhere.
    gw.simulator.setCredits(1000);
    await untilProbe();
    const probe = await generate(gw, t.key, 'textToImage', { prompt: 'probe 2' });
    expect(probe.__typename).toBe('MutationTextToImageSuccess');
    expect((await health()).state).toBe('OK');
    await expect.poll(async () => (await health(second.graphqlUrl)).state, { timeout: 5000 }).toBe('OK');
    const after = await gql<{ textToImage: { __typename: string } }>(second.graphqlUrl, `mutation { textToImage(input: { prompt: "after" }) { __typename } }`, {
      token: t.key,
    });
    expect(after.data!.textToImage.__typename).toBe('MutationTextToImageSuccess');
    expect(await verifyLedger(gw.deps.db)).toEqual([]);
  });

  it('opens on 401 as UNAUTHORIZED and closes when the key works again', async () => {
    const t = await gw.createTenant('breaker-auth', 100);
    const key = gw.simulator.apiKey;
    gw.simulator.configure({ apiKey: 'not-our-key' });
    try {
      expect(await generate(gw, t.key, 'textToImage', { prompt: 'x' })).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
      expect((await health()).state).toBe('UNAUTHORIZED');
      const res = await generate(gw, t.key, 'textToImage', { prompt: 'y' });
      expect(res.message).toMatch(/misconfigured/);
    } finally {
      gw.simulator.configure({ apiKey: key });
    }
    await untilProbe();
    expect((await generate(gw, t.key, 'textToImage', { prompt: 'z' })).__typename).toBe('MutationTextToImageSuccess');
    expect((await health()).state).toBe('OK');
    expect(await balanceOf(gw, t.key)).toEqual({ available: 95, held: 0 });
  });

  it('is for admins only', async () => {
    const t = await gw.createTenant('breaker-nosy', 0);
    const res = await gw.gql(`{ upstreamHealth { state } }`, {}, t.key);
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
