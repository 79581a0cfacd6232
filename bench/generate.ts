// `npm run bench:generate`: accepted textToImage per second on one hot tenant,
// through the whole gateway (HTTP, GraphQL, auth, hold + task in one
// statement, the upstream call to a simulator that answers at once, the
// charge), against a baseline measured in the same run on the same database
// pool: a loop of the bare conditional UPDATE ... WHERE available >= amount
// on one row. Prints both, their ratio, and checks zero overspend.
//
// As in production, the upstream (the simulator) and the clients (bench/load.ts)
// are other processes; the gateway has this process's event loop to itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { startGateway } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { verifyLedger } from '../src/ledger/verify.ts';
import { benchDatabase, fmt, median, runConcurrent } from './lib.ts';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 3000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ADMIN = 'bench-admin-token-0123456789';

const database = await benchDatabase();
const simulator = await startSimulatorProcess();
const config = loadConfig({
  NODE_ENV: 'production',
  PORT: '0',
  DATABASE_URL: database.url,
  DATABASE_POOL_SIZE: String(CONCURRENCY),
  ADMIN_TOKEN: ADMIN,
  LOG_LEVEL: 'silent',
  // Generate answers at once; tasks then stay in progress, so the bench
  // measures submissions, not the poller.
  SIMULATOR_LATENCY_MS: '600000',
  TASK_POLL_INITIAL_MS: '600000',
  TENANT_MAX_IN_FLIGHT: '100000',
  TENANT_RATE_PER_MINUTE: '1000000',
  TENANT_REQUESTS_PER_MINUTE: '10000000',
  UPSTREAM_URL: simulator.url,
  UPSTREAM_API_KEY: 'bench-sim-key',
  UPSTREAM_MAX_CONCURRENCY: String(CONCURRENCY * 2),
  UPSTREAM_CONNECTIONS: String(CONCURRENCY),
  DATA_DIR: '.data/bench',
});
const gateway = await startGateway(config, { logger: createLogger('silent'), migrate: false });
const db = gateway.deps.db;

async function gql<T>(query: string, token: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(gateway.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as T;
}

// The hot tenant, with exactly enough for every request of every round.
const startCredits = 5 * REQUESTS * ROUNDS;
const tenant = await gql<{ data: { createTenant: { data: { id: string } } } }>(
  `mutation { createTenant(input: { name: "hot" }) { ... on MutationCreateTenantSuccess { data { id } } } }`,
  ADMIN,
);
const tenantId = tenant.data.createTenant.data.id;
await gql(`mutation($id: ID!, $n: Int!) { topUpCredits(input: { tenantId: $id, amount: $n, idempotencyKey: "bench" }) { __typename } }`, ADMIN, { id: tenantId, n: startCredits });
const issued = await gql<{ data: { issueApiKey: { data: { secret: string } } } }>(
  `mutation($id: ID!) { issueApiKey(input: { tenantId: $id }) { ... on MutationIssueApiKeySuccess { data { secret } } } }`,
  ADMIN,
  { id: tenantId },
);
const key = issued.data.issueApiKey.data.secret;

// The baseline's row: a tenant account of its own, on the gateway's pool.
const baselineTenant = await db.tenant.create({ data: { name: 'baseline' } });
await db.account.create({ data: { kind: 'TENANT', tenantId: baselineTenant.id, available: 1_000_000_000 } });

async function baseline(): Promise<number> {
  return runConcurrent(REQUESTS * 4, CONCURRENCY, async () => {
    await db.$executeRaw`UPDATE account SET available = available - 1
      WHERE tenant_id = ${baselineTenant.id}::uuid AND available >= 1`;
  });
}

let accepted = 0;
let refused = 0;
async function gatewayRun(): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/load.ts', gateway.graphqlUrl, key, String(REQUESTS), String(CONCURRENCY)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await new Promise((resolve) => child.once('exit', resolve));
  const result = JSON.parse(out) as { accepted: number; refused: number; seconds: number };
  accepted += result.accepted;
  refused += result.refused;
  return result.accepted / result.seconds;
}

/** `npm run simulator` as a child process, answering generate at once. */
async function startSimulatorProcess(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/simulator/main.ts'], {
    env: { ...process.env, SIMULATOR_PORT: '0', SIMULATOR_API_KEY: 'bench-sim-key', SIMULATOR_CREDITS: '1000000000', SIMULATOR_LATENCY_MS: '600000' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const url = /"url":"([^"]+)"/.exec(out)?.[1];
      if (url) resolve({ url, child });
    });
    child.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
  });
}

// Warm both paths, then alternate rounds so drift on a shared machine hits both.
await runConcurrent(200, CONCURRENCY, async () => {
  await db.$executeRaw`SELECT 1`;
});
const baselineRates: number[] = [];
const gatewayRates: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  baselineRates.push(await baseline());
  gatewayRates.push(await gatewayRun());
}

// The baseline row has no ledger entries by design; drop it before verifying.
await db.account.delete({ where: { tenantId: baselineTenant.id } });
await db.tenant.delete({ where: { id: baselineTenant.id } });
const account = await db.account.findUniqueOrThrow({ where: { tenantId: Buffer.from(tenantId, 'base64').toString().split(':')[1]! } });
const spent = startCredits - account.available - account.held;
const violations = await verifyLedger(db);
const b = median(baselineRates);
const g = median(gatewayRates);
console.log(`bench:generate  requests/round=${REQUESTS} concurrency=${CONCURRENCY} rounds=${ROUNDS}`);
console.log(`  baseline (bare conditional UPDATE on one row): median ${fmt(b)} /s   rounds: ${baselineRates.map(fmt).join(', ')}`);
console.log(`  gateway (accepted textToImage, one tenant):    median ${fmt(g)} /s   rounds: ${gatewayRates.map(fmt).join(', ')}`);
console.log(`  ratio gateway/baseline: ${(g / b).toFixed(3)}   (target >= 0.5)`);
console.log(`  accepted=${accepted} refused=${refused} credits spent=${spent} (= 5 x accepted: ${spent === 5 * accepted}) overspend=${account.available < 0 ? 'YES' : 'none'} ledger:verify=${violations.length === 0 ? 'ok' : JSON.stringify(violations)}`);

await gateway.close();
simulator.child.kill('SIGTERM');
await database.close();
