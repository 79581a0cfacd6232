// `npm run bench:read`: authenticated reads per second through the gateway,
// against the two halves of its design's ceiling measured in the same run:
//   1. bare graphql-yoga answering `{ hello }` (what the framework costs);
//   2. the same work, bare: node:http + pg doing exactly the gateway's
//      database work for the read (the key's hash cached as the gateway
//      caches it, the same SELECT), no GraphQL (bench/servers/bare-read.ts);
//   3. the gateway (src/main.ts, NODE_ENV=production).
// The ceiling is 1 / (1/yoga + 1/bare): the framework's cost plus the work's
// cost, and nothing else. Each figure is a median of rounds; the rounds
// alternate the servers so that drift on a shared machine hits all three.
// CPU per request is the server process's user + system time (what
// process.cpuUsage reports, read from /proc so that every process of a
// WEB_CONCURRENCY cluster counts) over the requests it answered.
//
// Every server and the load generator (bench/http-load.ts) are processes of
// their own; this one only coordinates. PostgreSQL is DATABASE_URL or an
// embedded one (bench/lib.ts).
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createPrisma } from '../src/db/client.ts';
import { verifyLedger } from '../src/ledger/verify.ts';
import { benchDatabase, fmt, median } from './lib.ts';
import { gatewayEnv, load, profileFlags, startServer, type Server } from './procs.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const POOL = Number(process.env.BENCH_POOL ?? 10);
/** Gateway processes (WEB_CONCURRENCY); the bare servers stay one process. */
const PROCESSES = Number(process.env.WEB_CONCURRENCY ?? 1);
const ONLY = process.env.BENCH_READS?.split(',');
const ADMIN = `bench-admin-${randomBytes(8).toString('hex')}`;
const TASKS = 30;

const database = await benchDatabase();
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'gateway-bench-read-'));
const gateway = await startServer(
  'gateway',
  ['bench/servers/gateway.ts'],
  {
    ...gatewayEnv({ databaseUrl: database.url, pool: POOL, adminToken: ADMIN, dataDir, processes: PROCESSES }),
    UPSTREAM_SIMULATOR: 'true',
    SIMULATOR_LATENCY_MS: '50',
    TASK_POLL_INITIAL_MS: '100',
  },
  profileFlags(),
);

async function gql<T>(query: string, token: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data: T; errors?: unknown };
  if (body.errors) throw new Error(`${query}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

// One tenant with a key and TASKS finished tasks, made through the gateway itself.
const { createTenant } = await gql<{ createTenant: { data: { id: string } } }>(
  `mutation { createTenant(input: { name: "reader" }) { ... on MutationCreateTenantSuccess { data { id } } } }`,
  ADMIN,
);
const tenantId = createTenant.data.id;
await gql(`mutation($id: ID!) { topUpCredits(input: { tenantId: $id, amount: 100000, idempotencyKey: "bench" }) { __typename } }`, ADMIN, { id: tenantId });
const { issueApiKey } = await gql<{ issueApiKey: { data: { secret: string } } }>(
  `mutation($id: ID!) { issueApiKey(input: { tenantId: $id }) { ... on MutationIssueApiKeySuccess { data { secret } } } }`,
  ADMIN,
  { id: tenantId },
);
const key = issueApiKey.data.secret;
for (let i = 0; i < TASKS; i++) {
  await gql(`mutation($p: String!) { textToImage(input: { prompt: $p }) { __typename } }`, key, { p: `read bench ${i}` });
}
let taskIds: string[] = [];
for (let waited = 0; ; waited += 200) {
  const { tasks } = await gql<{ tasks: { nodes: Array<{ id: string; status: string }> } }>(`{ tasks(first: 100) { nodes { id status } } }`, key);
  if (tasks.nodes.length === TASKS && tasks.nodes.every((t) => t.status === 'SUCCESS')) {
    taskIds = tasks.nodes.map((t) => t.id);
    break;
  }
  if (waited > 60_000) throw new Error(`tasks did not finish: ${JSON.stringify(tasks.nodes.map((t) => t.status))}`);
  await new Promise((resolve) => setTimeout(resolve, 200));
}

const yoga = await startServer('bare yoga', ['bench/servers/bare-yoga.ts'], {});
const bare = await startServer('bare read', ['bench/servers/bare-read.ts'], { DATABASE_URL: database.url, DATABASE_POOL_SIZE: String(POOL) });

interface Read {
  name: string;
  /** The operation, and the variables of each request (cycled). */
  query: string;
  variables: Array<Record<string, unknown>>;
  /** The bare server's route for the same work. */
  barePath: string;
  expect: string;
}

const TASK_FIELDS = 'id model status prompt resultUrls creditsCharged refunded errorMessage createdAt completedAt';
const reads: Read[] = [
  { name: 'me.balance', query: '{ me { balance { available } } }', variables: [{}], barePath: '/me/balance', expect: '"available":' },
  {
    name: 'tasks(first: 20)',
    query: `{ tasks(first: 20) { pageInfo { hasNextPage endCursor } nodes { ${TASK_FIELDS} } } }`,
    variables: [{}],
    barePath: '/tasks',
    expect: '"hasNextPage":true',
  },
  {
    name: 'task(id)',
    query: `query($id: ID!) { task(id: $id) { ${TASK_FIELDS} } }`,
    variables: taskIds.map((id) => ({ id })),
    barePath: '/task',
    expect: '"status":"SUCCESS"',
  },
];
/**
 * The layers of a read, each one more than the last: the gateway answering
 * `{ __typename }` without a key (HTTP, Yoga and the gateway's plugins),
 * then with the key (+ authentication and the tenant's operation budget);
 * me.balance above adds its resolvers and statement. Gateway only.
 */
const layers: Read[] = [
  { name: 'layer: { __typename }, no key', query: '{ __typename }', variables: [{}], barePath: '', expect: '"Query"' },
  { name: 'layer: { __typename }, tenant key', query: '{ __typename }', variables: [{}], barePath: '', expect: '"Query"' },
];
const measured = [...reads, ...(process.env.BENCH_LAYERS === '0' ? [] : layers)].filter((r) => !ONLY || ONLY.includes(r.name));

const hello = JSON.stringify({ query: '{ hello }' });

async function measure(server: Server, url: string, headers: Record<string, string>, bodies: string[], expect: string) {
  return load(server, { url, headers, bodies, seconds: SECONDS, concurrency: CONCURRENCY, expect });
}

type Figures = { rate: number; cpuMs: number };
const results = new Map<string, { yoga: Figures[]; bare: Figures[]; gateway: Figures[] }>();
const auth = { authorization: `Bearer ${key}` };

// Warm every path (JIT, caches, connections) before measuring.
const headersOf = (read: Read) => (read.name.endsWith('no key') ? {} : auth);
for (const read of measured) {
  const bodies = read.variables.map((v) => JSON.stringify({ query: read.query, variables: v }));
  await load(gateway, { url: gateway.url, headers: headersOf(read), bodies, seconds: 1, concurrency: CONCURRENCY, expect: read.expect });
  if (!read.barePath) continue;
  await load(bare, { url: bare.url.replace('/graphql', read.barePath), headers: auth, bodies, seconds: 1, concurrency: CONCURRENCY, expect: read.expect });
}
await load(yoga, { url: yoga.url, headers: {}, bodies: [hello], seconds: 1, concurrency: CONCURRENCY, expect: 'world' });

for (let round = 0; round < ROUNDS; round++) {
  for (const read of measured) {
    const bodies = read.variables.map((v) => JSON.stringify({ query: read.query, variables: v }));
    const slot = results.get(read.name) ?? { yoga: [], bare: [], gateway: [] };
    results.set(read.name, slot);
    if (!read.barePath) {
      slot.gateway.push(await measure(gateway, gateway.url, headersOf(read), bodies, read.expect));
      continue;
    }
    const runs = [
      async () => slot.yoga.push(await measure(yoga, yoga.url, {}, [hello], 'world')),
      async () => slot.bare.push(await measure(bare, bare.url.replace('/graphql', read.barePath), auth, bodies, read.expect)),
      async () => slot.gateway.push(await measure(gateway, gateway.url, auth, bodies, read.expect)),
    ];
    // Rotate the order each round.
    for (let i = 0; i < runs.length; i++) await runs[(i + round) % runs.length]!();
  }
}

// Reads change nothing: the ledger still balances and nothing is overspent.
const prisma = createPrisma(database.url);
const violations = await verifyLedger(prisma);
const negative = await prisma.account.count({ where: { kind: 'TENANT', available: { lt: 0 } } });
await prisma.$disconnect();

const med = (figures: Figures[], key: keyof Figures) => median(figures.map((f) => f[key]));
console.log(
  `bench:read  ${SECONDS} s per run, ${CONCURRENCY} connections, rounds=${ROUNDS}, pool=${POOL}, gateway processes=${PROCESSES}, ${os.cpus().length} cores, Node ${process.version}`,
);
console.log('| read | bare Yoga `{ hello }` | same work bare | ceiling | gateway | gateway / ceiling | gateway / bare Yoga | CPU per request: Yoga / bare / gateway |');
console.log('|---|---|---|---|---|---|---|---|');
for (const [name, slot] of results) {
  if (slot.yoga.length === 0) {
    console.log(`| ${name} | | | | ${fmt(med(slot.gateway, 'rate'))}/s | | | ${med(slot.gateway, 'cpuMs').toFixed(3)} ms (gateway) |`);
    continue;
  }
  const y = med(slot.yoga, 'rate');
  const b = med(slot.bare, 'rate');
  const g = med(slot.gateway, 'rate');
  const ceiling = 1 / (1 / y + 1 / b);
  const cpu = (f: Figures[]) => `${med(f, 'cpuMs').toFixed(3)}`;
  console.log(
    `| ${name} | ${fmt(y)}/s | ${fmt(b)}/s | ${fmt(ceiling)}/s | **${fmt(g)}/s** | **${(g / ceiling).toFixed(2)}×** | ${(g / y).toFixed(2)}× | ${cpu(slot.yoga)} / ${cpu(slot.bare)} / ${cpu(slot.gateway)} ms |`,
  );
  console.log(`  ${name} rounds: yoga ${slot.yoga.map((f) => fmt(f.rate)).join(', ')}; bare ${slot.bare.map((f) => fmt(f.rate)).join(', ')}; gateway ${slot.gateway.map((f) => fmt(f.rate)).join(', ')}`);
}
console.log(`targets: gateway >= 0.6x its ceiling for every read; me.balance >= 0.35x bare Yoga. ledger:verify=${violations.length === 0 ? 'ok' : JSON.stringify(violations)} negative balances=${negative}`);

await Promise.all([gateway.stop(), yoga.stop(), bare.stop()]);
await database.close();
