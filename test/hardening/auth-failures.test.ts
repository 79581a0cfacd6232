// Finding 9 of the hardening issue: each unknown bearer token cost a
// database lookup, with no limit on failed authentication from one address.
// Now an address has AUTH_FAILURES_PER_MINUTE failures (shared by every
// process and transport), after which it is refused before any lookup, and
// an unknown token is remembered for a while so repeating it costs nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/app.ts';
import { startGatewayOn, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { overHttp, overSse, overWebSocket } from '../helpers/transports.ts';

const READ = '{ prices { credits } }';

describe('failed authentication per client address', () => {
  let gw: TestGateway;
  let other: Gateway;
  beforeAll(async () => {
    const env = { AUTH_FAILURES_PER_MINUTE: '5' };
    gw = await startTestGateway(env);
    other = await startGatewayOn(gw.databaseUrl, { url: gw.simulator.url, apiKey: gw.simulator.apiKey }, env);
  });
  afterAll(async () => {
    await other?.close();
    await gw?.stop();
  });

  it('five failures across processes and transports, then 429 before any lookup; a key in use keeps working', async () => {
    const { key } = await gw.createTenant('victim', 10);
    // The tenant's key is known to both processes before the attack.
    expect((await overHttp(gw.graphqlUrl, { query: READ, token: key })).errors).toEqual([]);
    expect((await overHttp(other.graphqlUrl, { query: READ, token: key })).errors).toEqual([]);

    const failures = [
      await overHttp(gw.graphqlUrl, { query: READ, token: 'gk_guess1' }),
      await overHttp(other.graphqlUrl, { query: READ, token: 'gk_guess2' }),
      await overSse(gw.graphqlUrl, { query: READ, token: 'gk_guess3' }),
      await overHttp(other.graphqlUrl, { query: READ, token: 'gk_guess4' }),
    ];
    expect(failures.map((f) => [f.status, f.errors[0]?.extensions?.code])).toEqual(Array(4).fill([401, 'UNAUTHENTICATED']));
    // A socket's failed connection_init counts too (4403), the fifth.
    expect((await overWebSocket(other.graphqlUrl, { query: READ, token: 'gk_guess5' })).closeCode).toBe(4403);

    const refused = await overHttp(gw.graphqlUrl, { query: READ, token: 'gk_guess6' });
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    expect(refused.errors).toMatchObject([{ extensions: { code: 'RATE_LIMITED' }, message: expect.stringMatching(/Too many failed authentications/) }]);
    expect((await overSse(other.graphqlUrl, { query: READ, token: 'gk_guess7' })).status).toBe(429);
    expect((await overWebSocket(gw.graphqlUrl, { query: READ, token: 'gk_guess8' })).closeCode).toBe(4429);
    // Refused before any lookup: without the key table a lookup would be a 500.
    await gw.deps.db.$executeRawUnsafe('ALTER TABLE api_key RENAME TO api_key_away');
    try {
      expect((await overHttp(other.graphqlUrl, { query: READ, token: 'gk_guess9' })).status).toBe(429);
    } finally {
      await gw.deps.db.$executeRawUnsafe('ALTER TABLE api_key_away RENAME TO api_key');
    }

    // Keys in use from the same address are not locked out.
    expect((await overHttp(gw.graphqlUrl, { query: READ, token: key })).errors).toEqual([]);
    expect((await overHttp(other.graphqlUrl, { query: READ, token: key })).errors).toEqual([]);
  });
});

describe('the negative cache', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ AUTH_FAILURES_PER_MINUTE: '1000' });
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('a token found unknown is not looked up again; a new one is', async () => {
    const db = gw.deps.db;
    expect((await overHttp(gw.graphqlUrl, { query: READ, token: 'gk_unknown' })).status).toBe(401);
    // Without the key table, a lookup would fail (a 500): only the cache can answer now.
    await db.$executeRawUnsafe('ALTER TABLE api_key RENAME TO api_key_away');
    try {
      for (let i = 0; i < 3; i++) {
        const again = await overHttp(gw.graphqlUrl, { query: READ, token: 'gk_unknown' });
        expect([again.status, again.errors[0]?.extensions?.code]).toEqual([401, 'UNAUTHENTICATED']);
      }
      const fresh = await overHttp(gw.graphqlUrl, { query: READ, token: 'gk_never_seen' });
      expect(fresh.errors[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    } finally {
      await db.$executeRawUnsafe('ALTER TABLE api_key_away RENAME TO api_key');
    }
  });
});

describe('behind a proxy', () => {
  let trusting: TestGateway;
  let direct: TestGateway;
  beforeAll(async () => {
    trusting = await startTestGateway({ AUTH_FAILURES_PER_MINUTE: '2', TRUST_PROXY: 'loopback' });
    direct = await startTestGateway({ AUTH_FAILURES_PER_MINUTE: '2' });
  });
  afterAll(async () => {
    await Promise.all([trusting?.stop(), direct?.stop()]);
  });

  const from = (url: string, address: string, token: string) =>
    overHttp(url, { query: READ, token, headers: { 'x-forwarded-for': address } });

  it('with TRUST_PROXY, the forwarded address is the client: one client locked out does not lock out the next', async () => {
    for (let i = 0; i < 2; i++) expect((await from(trusting.graphqlUrl, '203.0.113.7', `gk_bad${i}`)).status).toBe(401);
    expect((await from(trusting.graphqlUrl, '203.0.113.7', 'gk_bad2')).status).toBe(429);
    expect((await from(trusting.graphqlUrl, '198.51.100.9', 'gk_bad3')).status).toBe(401);
  });

  it('without it, a forwarded address is ignored: forging one does not escape the limit', async () => {
    for (let i = 0; i < 2; i++) expect((await from(direct.graphqlUrl, `203.0.113.${i}`, `gk_bad${i}`)).status).toBe(401);
    expect((await from(direct.graphqlUrl, '203.0.113.99', 'gk_bad9')).status).toBe(429);
  });
});
