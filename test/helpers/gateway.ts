import { startGateway, type Gateway } from '../../src/app.ts';
import { createUpstreamClient } from '../../src/upstream/client.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import type { SimulatorHandle } from '../../src/simulator/server.ts';
import { createTestDatabase } from './db.ts';
import { gql, success, type ResultUnion } from './graphql.ts';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

export interface TestGateway extends Gateway {
  databaseUrl: string;
  /** The in-process upstream simulator this gateway talks to. */
  simulator: SimulatorHandle;
  /** POSTs a GraphQL operation to this gateway. */
  gql: <T = unknown>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string | null,
  ) => ReturnType<typeof gql<T>>;
  /** Creates a tenant, tops it up and issues a key, all through the admin API. */
  createTenant(name?: string, credits?: number): Promise<{ id: string; key: string; keyId: string }>;
  stop(): Promise<void>;
}

/**
 * A gateway on its own fresh database (cloned from the migrated template),
 * listening on a random port, over real HTTP.
 */
export async function startTestGateway(env: Record<string, string> = {}): Promise<TestGateway> {
  const database = await createTestDatabase();
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    DATABASE_URL: database.url,
    DATABASE_POOL_SIZE: '20',
    ADMIN_TOKEN,
    // Test gateways always talk to the in-process simulator, production-mode ones too.
    UPSTREAM_SIMULATOR: 'true',
    SEED_DEMO_TENANT: 'false',
    LOG_LEVEL: 'silent',
    DATA_DIR: '.data/test-gateway',
    // Fast upstream and fast following, so whole lifecycles take well under a second.
    SIMULATOR_LATENCY_MS: '30-80',
    TASK_POLL_INITIAL_MS: '50',
    TASK_POLL_MAX_MS: '300',
    TASK_POLL_INTERVAL_MS: '25',
    SSRF_ALLOW_HOSTS: '127.0.0.1,localhost',
    WEBHOOK_RETRY_SCHEDULE_MS: '50,100,200',
    WEBHOOK_POLL_INTERVAL_MS: '50',
    ...env,
  });
  await database.prisma.$disconnect();
  const gateway = await startGateway(config, { logger: createLogger(config.logLevel), migrate: false });
  const url = gateway.graphqlUrl;
  let tenantCount = 0;
  const client: TestGateway['gql'] = (query, variables, token = ADMIN_TOKEN) =>
    gql(url, query, { variables, token });
  if (!gateway.upstream.simulator) throw new Error('test gateways run against the simulator');
  return {
    ...gateway,
    simulator: gateway.upstream.simulator,
    databaseUrl: database.url,
    gql: client,
    async createTenant(name = `tenant-${++tenantCount}`, credits = 0) {
      const created = await client<{ createTenant: ResultUnion<{ id: string }> }>(
        `mutation($name: String!) { createTenant(input: { name: $name }) {
           __typename ... on MutationCreateTenantSuccess { data { id } } } }`,
        { name },
      );
      if (!created.data) throw new Error(`createTenant failed: ${JSON.stringify(created)}`);
      const id = success(created.data.createTenant).id;
      if (credits > 0) {
        const topped = await client<{ topUpCredits: ResultUnion<unknown> }>(
          `mutation($id: ID!, $amount: Int!) { topUpCredits(input: { tenantId: $id, amount: $amount, idempotencyKey: "initial" }) {
             __typename ... on Error { code message } } }`,
          { id, amount: credits },
        );
        success(topped.data!.topUpCredits);
      }
      const issued = await client<{ issueApiKey: ResultUnion<{ secret: string; apiKey: { id: string } }> }>(
        `mutation($id: ID!) { issueApiKey(input: { tenantId: $id, name: "test" }) {
           __typename ... on MutationIssueApiKeySuccess { data { secret apiKey { id } } } } }`,
        { id },
      );
      const data = success(issued.data!.issueApiKey);
      return { id, key: data.secret, keyId: data.apiKey.id };
    },
    async stop() {
      await gateway.close();
      await database.drop();
    },
  };
}

/**
 * One more gateway, in this process, on an existing database, talking to a
 * given simulator: for tests of several gateways sharing one PostgreSQL.
 */
export async function startGatewayOn(
  databaseUrl: string,
  simulator: { url: string; apiKey: string },
  env: Record<string, string> = {},
): Promise<Gateway> {
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    DATABASE_URL: databaseUrl,
    ADMIN_TOKEN,
    UPSTREAM_SIMULATOR: 'true',
    SEED_DEMO_TENANT: 'false',
    LOG_LEVEL: 'silent',
    ...env,
  });
  const client = createUpstreamClient({ baseUrl: simulator.url, apiKey: simulator.apiKey });
  return startGateway(config, {
    logger: createLogger('silent'),
    migrate: false,
    upstream: { client, simulator: null, baseUrl: simulator.url, close: () => client.close() },
  });
}
