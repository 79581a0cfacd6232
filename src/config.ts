// The only reader of process.env. Everything is parsed once, with zod, at
// start-up; a bad value stops the process with a message naming the variable.
import proxyaddr from 'proxy-addr';
import { z } from 'zod';
import type { TaskSettings } from './tasks/deps.ts';
import type { ReconcileSettings } from './tasks/reconcile.ts';
import { parseSimulatorEnv, SIMULATOR_ENV_DOCS, type SimulatorOptions } from './simulator/options.ts';
import { parseUpstreamEnv, UPSTREAM_ENV_DOCS, type UpstreamEnv } from './upstream/options.ts';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
/** More gateway processes than this on one machine is a typo, not a plan (each has its own database pool). */
export const MAX_WEB_CONCURRENCY = 64;

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** Every variable the gateway reads, with its default and meaning (README's table). */
const GATEWAY_ENV = {
  NODE_ENV: [z.enum(['development', 'production', 'test']).default('development'), '`production` masks error details and turns GraphiQL off unless GRAPHIQL=true; also `development`, `test`.'],
  HOST: [z.string().min(1).default('127.0.0.1'), 'Interface to listen on (use 0.0.0.0 in containers).'],
  PORT: [int(0, 65535).default(4000), 'HTTP and WebSocket port.'],
  WEB_CONCURRENCY: [
    z
      .string()
      .regex(/^[1-9]\d*$/, 'expected a whole number of gateway processes, 1 or more')
      .transform(Number)
      .pipe(z.number().max(MAX_WEB_CONCURRENCY, `at most ${MAX_WEB_CONCURRENCY} processes`))
      .default(1),
    `Gateway processes on one port (node:cluster), 1 to ${MAX_WEB_CONCURRENCY}. 1: one process. N >= 2: npm start's process becomes the cluster primary (embedded database, migrations, simulator, demo tenant) and runs N gateway workers sharing PORT (README, "Scaling"). About one per CPU core.`,
  ],
  PUBLIC_URL: [z.url().optional(), 'Base URL at which upstream reaches this gateway (callbacks). Default http://localhost:PORT.'],
  DATABASE_URL: [z.url().optional(), 'PostgreSQL connection string. Unset: an embedded PostgreSQL under DATA_DIR/pg.'],
  DATABASE_POOL_SIZE: [int(1, 500).default(10), 'Connections in the database pool.'],
  DATABASE_PREPARED_STATEMENTS: [bool.default(true), 'Named prepared statements, planned once per connection. Set false behind a pooler that cannot keep them (PgBouncer in transaction mode before 1.21).'],
  DATA_DIR: [z.string().min(1).default('.data'), 'Where the embedded database, the generated admin token and the demo key are kept.'],
  ADMIN_TOKEN: [z.string().min(16).optional(), 'Admin bearer token, at least 16 characters. Required in production; elsewhere, unset: one is generated, kept in DATA_DIR/admin-token and printed at start.'],
  SEED_DEMO_TENANT: [bool.optional(), 'Create a demo tenant with credits and print its key at start (default: true unless NODE_ENV=production).'],
  LOG_LEVEL: [z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'), 'pino log level.'],
  REDIS_URL: [z.url().optional(), 'Redis for events and shared rate limits across gateway processes, for fan-out at scale (README, "Events", "Limits"). Unset: PostgreSQL NOTIFY/LISTEN and a PostgreSQL table, nothing else needed.'],
  UPSTREAM_SIMULATOR: [bool.optional(), 'Run the in-process Grok Imagine simulator instead of the real service. Default: when UPSTREAM_API_KEY is unset, except in production, where it must be asked for with true.'],
  CORS_ORIGINS: [z.string().optional(), 'Comma-separated origins (scheme://host[:port]) browsers may call the API from; * for any. Default: * outside production, none in production.'],
  CORS_CREDENTIALS: [bool.default(false), 'Send Access-Control-Allow-Credentials (cookies). Off: API keys travel in the Authorization header, which needs no credentials mode. Not allowed with CORS_ORIGINS=*.'],
  TRUST_PROXY: [z.string().optional(), 'Comma-separated proxy addresses or ranges (CIDR, or loopback, linklocal, uniquelocal) whose X-Forwarded-For names the client address. Default: none; the socket address is the client.'],
  MAX_BODY_BYTES: [int(1024, 100 * 1024 * 1024).default(1024 * 1024), 'Largest accepted request body, in bytes (413 beyond).'],
  GRAPHQL_MAX_DEPTH: [int(1, 100).default(12), 'Deepest accepted query.'],
  GRAPHQL_MAX_ALIASES: [int(1, 1000).default(30), 'Most aliases in one operation.'],
  GRAPHQL_MAX_TOKENS: [int(10, 100_000).default(2000), 'Most tokens in one document.'],
  GRAPHQL_MAX_COST: [int(10, 1_000_000).default(5000), 'Highest accepted query cost: about the number of objects an operation can return, each page counted at its size (README, "Pages and query cost"); beyond it QUERY_TOO_COSTLY.'],
  GRAPHQL_INTROSPECTION: [bool.optional(), 'Answer introspection queries (__schema, __type). Default: true outside production, false in production.'],
  GRAPHIQL: [bool.optional(), 'Serve GraphiQL to browsers at /graphql, every asset from the gateway itself (works offline). Default: true unless NODE_ENV=production. Its docs and completion need GRAPHQL_INTROSPECTION.'],
  AUTH_CACHE_TTL_MS: [int(0, 600_000).default(5000), 'How long an API key lookup is cached. A revocation is announced to every process and applies at once.'],
  AUTH_NEGATIVE_CACHE_MS: [int(0, 600_000).default(30_000), 'How long an unknown token is remembered as unknown, so repeating it costs no database lookup.'],
  AUTH_FAILURES_PER_MINUTE: [int(1, 1_000_000).default(30), 'Failed authentications one client address may make per minute, across all gateway processes (RATE_LIMITED, 429, beyond; keys already known keep working).'],
  SHUTDOWN_TIMEOUT_MS: [int(0, 600_000).default(10_000), 'How long shutdown waits for in-flight requests before closing them.'],
  TENANT_MAX_IN_FLIGHT: [int(1, 100_000).default(50), 'Generation tasks one tenant may have submitting or in progress at once (RATE_LIMITED beyond).'],
  TENANT_RATE_PER_MINUTE: [int(1, 1_000_000).default(600), 'Generation requests per minute per tenant, across all gateway processes (RATE_LIMITED beyond). An idempotent replay takes none.'],
  TENANT_REQUESTS_PER_MINUTE: [int(1, 10_000_000).default(1200), 'Operations (queries, mutations, subscription starts) one tenant may send per minute, across all gateway processes and transports (RATE_LIMITED, 429, beyond).'],
  TASK_POLL_INITIAL_MS: [int(1, 3_600_000).optional(), 'First status poll after submission, for every model. Default per model: 2000 (images), 5000 (videos).'],
  TASK_POLL_MAX_MS: [int(1, 3_600_000).default(30_000), 'Longest wait between two status polls of a task (polls back off by 1.5x up to this).'],
  TASK_POLL_INTERVAL_MS: [int(1, 3_600_000).default(500), 'How often the poller looks for tasks due for a poll.'],
  TASK_POLL_BATCH: [int(1, 10_000).default(50), 'Tasks polled concurrently per poller round.'],
  TASK_LEASE_MS: [int(100, 3_600_000).default(30_000), "How long a process's claim on a task poll lasts; a dead process's claims expire after this."],
  TASK_SUBMIT_TIMEOUT_MS: [int(1000, 86_400_000).default(120_000), 'A task still SUBMITTING after this was abandoned by a dead process: its hold is voided and it fails. Must exceed UPSTREAM_TIMEOUT_MS + UPSTREAM_RETRY_DEADLINE_MS.'],
  METRICS_TOKEN: [z.string().min(16).optional(), 'When set, /metrics answers only `Authorization: Bearer <METRICS_TOKEN>` (at least 16 characters); unset, /metrics is open to whoever reaches the port.'],
  UPSTREAM_PROBE_INITIAL_MS: [int(10, 3_600_000).default(5000), 'After upstream answers 402 or 401 the breaker opens; the first generation this long after is let through as the probe (README, "Upstream health").'],
  UPSTREAM_PROBE_MAX_MS: [int(10, 86_400_000).default(300_000), 'Longest wait between probes: each failed probe doubles the wait up to this.'],
  TASK_DEADLINE_MS: [int(1000, 30 * 86_400_000).default(3_600_000), 'A task in progress longer than this ends FAILED and refunded (README, "Deadlines").'],
  RECONCILE_INTERVAL_MS: [int(1000, 86_400_000).default(60_000), 'How often reconciliation reads upstream /status of ended tasks again (one batch per run); a task is checked again once its last check is this old (README, "Reconciliation").'],
  RECONCILE_WINDOW_HOURS: [int(1, 24 * 366).default(24), 'Tasks that ended within this many hours are reconciled against upstream.'],
  RECONCILE_BATCH: [int(1, 10_000).default(50), 'Tasks reconciliation checks per run: at most this many upstream /status reads per RECONCILE_INTERVAL_MS.'],
  SSRF_ALLOW_HOSTS: [z.string().optional(), 'Comma-separated hosts or host:port exempt from the private-address guard on webhook URLs (development and tests only).'],
  WEBHOOK_RETRY_SCHEDULE_MS: [z.string().regex(/^\d+(,\d+)*$/).optional(), 'Comma-separated delays between webhook attempts, in ms. Default: 5s, 5m, 30m, 2h, 5h, 10h, 10h (about a day).'],
  WEBHOOK_TIMEOUT_MS: [int(100, 120_000).default(10_000), 'Timeout of one webhook delivery attempt.'],
  WEBHOOK_POLL_INTERVAL_MS: [int(10, 600_000).default(1000), 'How often the webhook dispatcher looks for due deliveries (it is also woken on each new one).'],
  WEBHOOK_LEASE_MS: [int(100, 3_600_000).optional(), "How long a process's claim on a delivery lasts; a dead process's claims expire after this. Default max(60000, 2 x WEBHOOK_TIMEOUT_MS)."],
  WS_KEEPALIVE_MS: [int(0, 600_000).default(12_000), 'WebSocket ping interval; a connection that misses a pong is closed. 0 disables.'],
  LIVE_MAX_CONNECTIONS_PER_TENANT: [int(1, 1_000_000).default(100), 'Live connections one tenant may hold across all gateway processes: WebSocket connections and SSE streams together (WebSocket closed with 4429, SSE answered 429 beyond).'],
  LIVE_MAX_SUBSCRIPTIONS_PER_TENANT: [int(1, 10_000_000).default(1000), 'Running subscriptions one tenant may hold across all gateway processes, WebSocket and SSE together (RATE_LIMITED beyond).'],
  WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: [int(1, 100_000).default(50), 'Subscriptions one WebSocket connection may run at once (RATE_LIMITED beyond).'],
} as const;

type GatewayEnvShape = { [K in keyof typeof GATEWAY_ENV]: (typeof GATEWAY_ENV)[K][0] };
const gatewayEnvSchema = z.object(
  Object.fromEntries(Object.entries(GATEWAY_ENV).map(([k, [schema]]) => [k, schema])) as GatewayEnvShape,
);

export const ENV_DOCS: Record<string, string> = {
  ...Object.fromEntries(Object.entries(GATEWAY_ENV).map(([k, [, doc]]) => [k, doc])),
  ...UPSTREAM_ENV_DOCS,
  ...SIMULATOR_ENV_DOCS,
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface Config {
  env: 'development' | 'production' | 'test';
  host: string;
  port: number;
  /** Gateway processes on PORT (WEB_CONCURRENCY): 1 is one process, N >= 2 a cluster primary and N workers (src/cluster.ts). */
  webConcurrency: number;
  publicUrl: string | null;
  databaseUrl: string | null;
  databasePoolSize: number;
  databasePreparedStatements: boolean;
  dataDir: string;
  adminToken: string | null;
  seedDemoTenant: boolean;
  logLevel: string;
  redisUrl: string | null;
  maxBodyBytes: number;
  /** `graphiql`: serve GraphiQL at the GraphQL endpoint (GRAPHIQL). */
  graphql: { maxDepth: number; maxAliases: number; maxTokens: number; maxCost: number; introspection: boolean; graphiql: boolean };
  /** Origins allowed by CORS; `*` alone for any. Empty: no cross-origin access. */
  cors: { origins: string[]; credentials: boolean };
  /** proxy-addr trust list: whose X-Forwarded-For is believed. */
  trustProxy: string[];
  auth: { cacheTtlMs: number; negativeCacheMs: number; failuresPerMinute: number };
  shutdownTimeoutMs: number;
  tasks: TaskSettings & { ratePerMinute: number };
  /** The reconciliation worker (tasks/reconcile.ts). */
  reconcile: ReconcileSettings;
  /** Bearer token /metrics requires; null: open. */
  metricsToken: string | null;
  /** The upstream circuit breaker's probes (tasks/upstream-health.ts). */
  breaker: { probeInitialMs: number; probeMaxMs: number };
  /** Operations per minute per tenant. */
  requestsPerMinute: number;
  webhooks: { allowHosts: string[]; retryScheduleMs: number[] | null; timeoutMs: number; intervalMs: number; leaseMs: number | null };
  live: { maxConnectionsPerTenant: number; maxSubscriptionsPerTenant: number };
  ws: { keepAliveMs: number; maxSubscriptionsPerConnection: number };
  /** The in-process simulator instead of the real upstream. */
  useSimulator: boolean;
  upstream: UpstreamEnv;
  simulator: SimulatorOptions;
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings mean "unset", as in most .env files and compose files.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = gatewayEnvSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  let upstream: UpstreamEnv;
  let simulator: SimulatorOptions;
  try {
    upstream = parseUpstreamEnv(present);
    simulator = parseSimulatorEnv(present);
  } catch (error) {
    throw new ConfigError(`Invalid configuration:\n  ${(error as Error).message}`);
  }
  const production = e.NODE_ENV === 'production';
  const problems = productionProblems(e, upstream.apiKey !== undefined);
  if (problems.length > 0) throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  const minSubmitTimeout = upstream.timeoutMs + upstream.retryDeadlineMs;
  if (e.TASK_SUBMIT_TIMEOUT_MS <= minSubmitTimeout) {
    throw new ConfigError(
      `Invalid configuration:\n  TASK_SUBMIT_TIMEOUT_MS: must exceed UPSTREAM_TIMEOUT_MS + UPSTREAM_RETRY_DEADLINE_MS (${minSubmitTimeout}), ` +
        'or recovery could abandon a submission that upstream is still answering',
    );
  }
  return {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    webConcurrency: e.WEB_CONCURRENCY,
    publicUrl: e.PUBLIC_URL?.replace(/\/+$/, '') ?? null,
    databaseUrl: e.DATABASE_URL ?? null,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    databasePreparedStatements: e.DATABASE_PREPARED_STATEMENTS,
    dataDir: e.DATA_DIR,
    adminToken: e.ADMIN_TOKEN ?? null,
    seedDemoTenant: e.SEED_DEMO_TENANT ?? !production,
    logLevel: e.LOG_LEVEL,
    redisUrl: e.REDIS_URL ?? null,
    maxBodyBytes: e.MAX_BODY_BYTES,
    graphql: {
      maxDepth: e.GRAPHQL_MAX_DEPTH,
      maxAliases: e.GRAPHQL_MAX_ALIASES,
      maxTokens: e.GRAPHQL_MAX_TOKENS,
      maxCost: e.GRAPHQL_MAX_COST,
      introspection: e.GRAPHQL_INTROSPECTION ?? !production,
      graphiql: e.GRAPHIQL ?? !production,
    },
    cors: { origins: list(e.CORS_ORIGINS ?? (production ? '' : '*')), credentials: e.CORS_CREDENTIALS },
    trustProxy: list(e.TRUST_PROXY ?? ''),
    auth: { cacheTtlMs: e.AUTH_CACHE_TTL_MS, negativeCacheMs: e.AUTH_NEGATIVE_CACHE_MS, failuresPerMinute: e.AUTH_FAILURES_PER_MINUTE },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    tasks: {
      maxInFlight: e.TENANT_MAX_IN_FLIGHT,
      ratePerMinute: e.TENANT_RATE_PER_MINUTE,
      pollInitialMs: e.TASK_POLL_INITIAL_MS ?? null,
      pollMaxMs: e.TASK_POLL_MAX_MS,
      pollIntervalMs: e.TASK_POLL_INTERVAL_MS,
      pollBatch: e.TASK_POLL_BATCH,
      leaseMs: e.TASK_LEASE_MS,
      submitTimeoutMs: e.TASK_SUBMIT_TIMEOUT_MS,
      deadlineMs: e.TASK_DEADLINE_MS,
    },
    reconcile: { intervalMs: e.RECONCILE_INTERVAL_MS, windowHours: e.RECONCILE_WINDOW_HOURS, batch: e.RECONCILE_BATCH },
    metricsToken: e.METRICS_TOKEN ?? null,
    breaker: { probeInitialMs: e.UPSTREAM_PROBE_INITIAL_MS, probeMaxMs: e.UPSTREAM_PROBE_MAX_MS },
    requestsPerMinute: e.TENANT_REQUESTS_PER_MINUTE,
    webhooks: {
      allowHosts: list(e.SSRF_ALLOW_HOSTS ?? ''),
      retryScheduleMs: e.WEBHOOK_RETRY_SCHEDULE_MS ? e.WEBHOOK_RETRY_SCHEDULE_MS.split(',').map(Number) : null,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      intervalMs: e.WEBHOOK_POLL_INTERVAL_MS,
      leaseMs: e.WEBHOOK_LEASE_MS ?? null,
    },
    live: {
      maxConnectionsPerTenant: e.LIVE_MAX_CONNECTIONS_PER_TENANT,
      maxSubscriptionsPerTenant: e.LIVE_MAX_SUBSCRIPTIONS_PER_TENANT,
    },
    ws: {
      keepAliveMs: e.WS_KEEPALIVE_MS,
      maxSubscriptionsPerConnection: e.WS_MAX_SUBSCRIPTIONS_PER_CONNECTION,
    },
    useSimulator: e.UPSTREAM_SIMULATOR ?? upstream.apiKey === undefined,
    upstream,
    simulator,
  };
}

function list(value: string): string[] {
  return value.split(',').map((item) => item.trim()).filter(Boolean);
}

/**
 * What production refuses to start without: it never makes up its own admin
 * token, never answers with a simulator unless asked, and never lets any
 * origin send credentials.
 */
function productionProblems(e: z.infer<typeof gatewayEnvSchema>, hasUpstreamKey: boolean): string[] {
  const problems: string[] = [];
  if (e.CORS_CREDENTIALS && list(e.CORS_ORIGINS ?? '').includes('*')) {
    problems.push('CORS_CREDENTIALS: not allowed with CORS_ORIGINS=* (any site could act with a user\'s credentials)');
  }
  try {
    proxyaddr.compile(list(e.TRUST_PROXY ?? ''));
  } catch (error) {
    problems.push(`TRUST_PROXY: ${(error as Error).message}`);
  }
  if (e.UPSTREAM_SIMULATOR === false && !hasUpstreamKey) {
    problems.push('UPSTREAM_API_KEY: required when UPSTREAM_SIMULATOR=false');
  }
  if (e.NODE_ENV !== 'production') return problems;
  if (!e.ADMIN_TOKEN) {
    problems.push('ADMIN_TOKEN: required in production (at least 16 characters; e.g. `openssl rand -hex 32`)');
  }
  if (!hasUpstreamKey && e.UPSTREAM_SIMULATOR !== true) {
    problems.push('UPSTREAM_API_KEY: required in production (or UPSTREAM_SIMULATOR=true to run against the simulator on purpose)');
  }
  return problems;
}
