// Findings 7 and 8 of the hardening issue: introspection answered in
// production, even without a key; the generated admin token was printed;
// the simulator ran silently in production; CORS reflected any origin with
// credentials. Production is now safe by default (the compose file's side
// is in test/server/compose.test.ts).
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { TRANSPORTS } from '../helpers/transports.ts';

const INTROSPECTION = '{ __schema { queryType { name } } }';

describe('introspection', () => {
  let production: TestGateway;
  let asked: TestGateway;
  let development: TestGateway;
  let key: string;
  beforeAll(async () => {
    production = await startTestGateway({ NODE_ENV: 'production' });
    asked = await startTestGateway({ NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'true' });
    development = await startTestGateway({ NODE_ENV: 'development' });
    key = (await production.createTenant('introspector', 10)).key;
  });
  afterAll(async () => {
    await Promise.all([production?.stop(), asked?.stop(), development?.stop()]);
  });

  describe.each(Object.entries(TRANSPORTS))('over %s', (transport, send) => {
    it('is refused in production, with a key or without one (no key: HTTP and SSE only)', async () => {
      const tokens = transport === 'WebSocket' ? [key] : [key, null];
      for (const token of tokens) {
        const answer = await send(production.graphqlUrl, { query: INTROSPECTION, token });
        expect(answer.data ?? null).toBeNull();
        expect(new Set(answer.errors.map((e) => e.extensions?.code))).toEqual(new Set(['GRAPHQL_VALIDATION_FAILED']));
        expect(answer.errors[0]!.message).toMatch(/introspection has been disabled/);
      }
      // __typename is not introspection: clients rely on it.
      expect((await send(production.graphqlUrl, { query: '{ __typename }', token: key })).data).toEqual({ __typename: 'Query' });
    });

    it('names nothing of the schema in production: no "Did you mean" for fields or enum values (development keeps them)', async () => {
      const query = '{ tasks(model: text_to_image) { edges { cursor } } me { nmae } }';
      const hidden = await send(production.graphqlUrl, { query, token: key });
      expect(hidden.errors.length).toBeGreaterThan(0);
      expect(JSON.stringify(hidden.errors)).not.toMatch(/Did you mean|TEXT_TO_IMAGE|"name"/);
      const shown = await send(development.graphqlUrl, { query, token: (await development.createTenant(`d-${transport}`, 1)).key });
      expect(JSON.stringify(shown.errors)).toMatch(/Did you mean/);
    });
  });

  it('answers in production with GRAPHQL_INTROSPECTION=true, and outside production by default', async () => {
    for (const gw of [asked, development]) {
      const answer = await TRANSPORTS.HTTP(gw.graphqlUrl, { query: INTROSPECTION });
      expect(answer.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    }
  });
});

describe('configuration', () => {
  const production = { NODE_ENV: 'production', UPSTREAM_API_KEY: 'key' };

  it('production requires ADMIN_TOKEN and never makes one up', () => {
    expect(() => loadConfig(production)).toThrow(/ADMIN_TOKEN: required in production/);
    expect(loadConfig({ ...production, ADMIN_TOKEN: 'x'.repeat(32) }).adminToken).toBe('x'.repeat(32));
  });

  it('production runs the simulator only when asked to', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', ADMIN_TOKEN: 'x'.repeat(32) })).toThrow(/UPSTREAM_API_KEY: required in production/);
    expect(loadConfig({ ...production, ADMIN_TOKEN: 'x'.repeat(32) }).useSimulator).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', ADMIN_TOKEN: 'x'.repeat(32), UPSTREAM_SIMULATOR: 'true' }).useSimulator).toBe(true);
    expect(loadConfig({}).useSimulator).toBe(true);
  });

  it('credentials are never allowed for any origin', () => {
    expect(() => loadConfig({ CORS_ORIGINS: '*', CORS_CREDENTIALS: 'true' })).toThrow(/CORS_CREDENTIALS: not allowed with CORS_ORIGINS=\*/);
    expect(loadConfig({}).cors).toEqual({ origins: ['*'], credentials: false });
    expect(loadConfig({ ...production, ADMIN_TOKEN: 'x'.repeat(32) }).cors).toEqual({ origins: [], credentials: false });
  });

  it('`npm start` in production without ADMIN_TOKEN exits 1 naming it, and prints no token', () => {
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production', UPSTREAM_API_KEY: 'key', DATABASE_URL: 'postgres://127.0.0.1:9/none' };
    delete env['ADMIN_TOKEN'];
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env, encoding: 'utf8', timeout: 60_000 });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('ADMIN_TOKEN: required in production');
    expect(`${run.stdout}${run.stderr}`).not.toMatch(/gkadmin_|Admin token/);
  });
});

describe('CORS', () => {
  const preflight = (url: string, origin: string) =>
    fetch(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } });
  const post = (url: string, origin: string) =>
    fetch(url, { method: 'POST', headers: { origin, 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });

  let locked: TestGateway;
  let listed: TestGateway;
  let open: TestGateway;
  beforeAll(async () => {
    locked = await startTestGateway({ NODE_ENV: 'production' });
    listed = await startTestGateway({ NODE_ENV: 'production', CORS_ORIGINS: 'https://app.example, https://admin.example' });
    open = await startTestGateway({ NODE_ENV: 'development' });
  });
  afterAll(async () => {
    await Promise.all([locked?.stop(), listed?.stop(), open?.stop()]);
  });

  it('production answers no origin by default', async () => {
    for (const res of [await preflight(locked.graphqlUrl, 'https://evil.example'), await post(locked.graphqlUrl, 'https://evil.example')]) {
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    }
  });

  it('CORS_ORIGINS allows exactly its origins, without credentials', async () => {
    for (const res of [await preflight(listed.graphqlUrl, 'https://admin.example'), await post(listed.graphqlUrl, 'https://admin.example')]) {
      expect(res.headers.get('access-control-allow-origin')).toBe('https://admin.example');
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    }
    const pre = await preflight(listed.graphqlUrl, 'https://admin.example');
    expect(pre.headers.get('access-control-allow-headers')).toContain('authorization');
    const evil = await post(listed.graphqlUrl, 'https://evil.example');
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('outside production any origin may call, never with credentials', async () => {
    const res = await post(open.graphqlUrl, 'http://localhost:5173');
    expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });
});
