import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { gql } from '../helpers/graphql.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ MAX_BODY_BYTES: '4096', GRAPHQL_MAX_DEPTH: '4', GRAPHQL_MAX_ALIASES: '5' });
});
afterAll(async () => {
  await gw?.stop();
});

describe('health', () => {
  it('GET /healthz answers 200 JSON', async () => {
    const res = await fetch(`${gw.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz reports the database and migrations', async () => {
    const res = await fetch(`${gw.url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ready: true, database: 'ok', pendingMigrations: [] });
  });

  it('GET /readyz answers 503 naming a pending migration', async () => {
    const [last] = await gw.deps.db.$queryRaw<{ migration_name: string }[]>`
      SELECT migration_name FROM _prisma_migrations ORDER BY migration_name DESC LIMIT 1`;
    await gw.deps.db.$executeRaw`UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = ${last!.migration_name}`;
    try {
      const res = await fetch(`${gw.url}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ ready: false, pendingMigrations: [last!.migration_name] });
    } finally {
      await gw.deps.db.$executeRaw`UPDATE _prisma_migrations SET rolled_back_at = NULL WHERE migration_name = ${last!.migration_name}`;
    }
  });
});

describe('limits against abuse', () => {
  it('rejects a body over MAX_BODY_BYTES with 413', async () => {
    const res = await fetch(gw.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ query: `{ __typename }`, variables: { pad: 'x'.repeat(5000) } }),
    });
    expect(res.status).toBe(413);
  });

  it('rejects queries deeper than GRAPHQL_MAX_DEPTH', async () => {
    const res = await gw.gql(`{ tenants { edges { node { id } } pageInfo { hasNextPage } } }`);
    expect(res.errors).toBeUndefined();
    const deep = await gw.gql(`{ tenants { edges { node { apiKeys { id } } } } }`);
    expect(deep.errors?.[0]?.message).toMatch(/depth limit of 4 exceeded/i);
  });

  it('rejects too many aliases', async () => {
    const aliases = Array.from({ length: 8 }, (_, i) => `a${i}: prices { credits }`).join(' ');
    const res = await gw.gql(`{ ${aliases} }`);
    expect(res.errors?.[0]?.message).toMatch(/aliases limit of 5 exceeded/i);
  });
});

describe('production mode', () => {
  it('masks unexpected errors: no stack traces or SQL', async () => {
    const database = await createTestDatabase();
    const config = loadConfig({
      NODE_ENV: 'production',
      PORT: '0',
      DATABASE_URL: database.url,
      ADMIN_TOKEN,
      UPSTREAM_SIMULATOR: 'true',
      LOG_LEVEL: 'silent',
      DATA_DIR: '.data/test-gateway',
    });
    const prod = await startGateway(config, { migrate: false });
    try {
      // Break the database under the gateway so the next query fails inside Prisma.
      await prod.deps.db.$executeRawUnsafe('ALTER TABLE tenant RENAME TO tenant_gone');
      const res = await gql<{ tenants: unknown }>(prod.graphqlUrl, `{ tenants { edges { node { id } } } }`, { token: ADMIN_TOKEN });
      const text = JSON.stringify(res);
      expect(res.errors?.[0]?.message).toBe('Unexpected error.');
      expect(text).not.toMatch(/tenant_gone|SELECT|prisma|stack|at \w+ \(/i);
      // GraphiQL is off in production.
      const page = await fetch(prod.graphqlUrl, { headers: { accept: 'text/html' } });
      expect(await page.text()).not.toContain('<html');
    } finally {
      await prod.close();
      await database.drop();
    }
  });
});

describe('logging', () => {
  it('writes one JSON line per request with tenant and operation, and no secret', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const database = await createTestDatabase();
    const config = loadConfig({ PORT: '0', DATABASE_URL: database.url, ADMIN_TOKEN, LOG_LEVEL: 'info', SEED_DEMO_TENANT: 'false', DATA_DIR: '.data/test-gateway' });
    const logged = await startGateway(config, { migrate: false, logger: createLogger('info', sink) });
    try {
      const created = await gql<{ createTenant: { data: { id: string } } }>(
        logged.graphqlUrl,
        `mutation Create { createTenant(input: { name: "log" }) { ... on MutationCreateTenantSuccess { data { id } } } }`,
        { token: ADMIN_TOKEN },
      );
      const issued = await gql<{ issueApiKey: { data: { secret: string } } }>(
        logged.graphqlUrl,
        `mutation Issue($id: ID!) { issueApiKey(input: { tenantId: $id }) { ... on MutationIssueApiKeySuccess { data { secret } } } }`,
        { token: ADMIN_TOKEN, variables: { id: created.data!.createTenant.data.id } },
      );
      const secret = issued.data!.issueApiKey.data.secret;
      await gql(logged.graphqlUrl, `query Me { me { id } }`, { token: secret });
      const requests = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request');
      expect(requests).toHaveLength(3);
      expect(requests.map((r) => r.operationName)).toEqual(['Create', 'Issue', 'Me']);
      expect(requests[2]).toMatchObject({ principal: 'tenant', status: 200, path: '/graphql' });
      expect(typeof requests[2]!.tenantId).toBe('string');
      expect(typeof requests[2]!.durationMs).toBe('number');
      const all = lines.join('\n');
      expect(all).not.toContain(secret);
      expect(all).not.toContain(ADMIN_TOKEN);
    } finally {
      await logged.close();
      await database.drop();
    }
  });
});
