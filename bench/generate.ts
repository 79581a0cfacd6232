// `npm run bench:generate`: accepted generations and settlements per second
// through the gateway, against the two halves of its design's ceiling
// measured in the same run, as bench/read.ts does for reads:
//   1. bare graphql-yoga answering `{ hello }` (what the framework costs);
//   2. the same work, bare (bench/servers/bare-generate.ts): node:http, pg and
//      undici doing exactly the gateway's database and upstream work for an
//      accepted textToImage (the key's hash cached as the gateway caches it,
//      the gateway's own submitting statement, the upstream POST, the
//      gateway's own accepting statement, all as named prepared statements);
//   3. the gateway (src/main.ts, NODE_ENV=production, its own process).
// The ceiling is 1 / (1/yoga + 1/bare); the table gives the gateway's ratio to
// it, each server's CPU per accepted request (user + system, from /proc,
// bench/procs.ts), and the CPU its database's PostgreSQL backends spent per
// request (when PostgreSQL runs on this machine). Two workloads: one hot
// tenant, and 100 tenants (100 keys, the load generator cycling the
// Authorization header per request).
//
// Settlements: N tasks in progress whose upstream task has already finished
// are made due for a poll at one moment (one UPDATE of next_poll_at); the
// time from that moment to the last of them SUCCESS in the database is the
// gateway's poller path (src/tasks/poller.ts → follow.ts → lifecycle.ts:
// lease, upstream /status, the settling statement with its NOTIFY) and, on
// the bare side, the same statements and the same /status reads run by the
// bare server's poller (same batch, same interval). settles/s = N / that time;
// CPU per settlement is the server's (and its database's) over that time / N.
//
// Upstream is one simulator process (`npm run simulator`, src/simulator/main.ts)
// for both servers. It answers /generate at once; an image task then stays in
// progress for an hour (so generation runs measure submissions, not the
// poller) and a video task finishes at once (the settlement runs submit
// textToVideo). Its completion callbacks go to the bare server, which answers
// them unread: only the pollers settle tasks, when the bench says so.
//
// Money: the gateway and the bare server each have their own database on the
// same PostgreSQL (so neither hears the other's NOTIFYs nor polls the other's
// tasks), with their own tenants. Every run is a fixed number of requests
// (sized from the rate of the run before to last about BENCH_SECONDS; the
// first from the warm-up's), and before it each
// tenant is topped up with exactly its price times its share of them: every
// request must be accepted, and afterwards every tenant's available and held
// balances must be 0. After every round: credits spent = price × accepted on
// each side, no account below 0, and verifyLedger clean on both databases.
//
// Every server, the simulator and the load generator (bench/http-load.ts)
// are processes of their own; this one only coordinates. Rounds alternate the
// servers so that drift on a shared machine hits all of them. PostgreSQL is
// DATABASE_URL or an embedded one (bench/lib.ts); the bench's two databases
// run with synchronous_commit off (BENCH_SYNCHRONOUS_COMMIT). BENCH_PROFILE=<dir> makes
// the gateway write a CPU profile there (bench/profile.ts reads it);
// BENCH_PARTS=hot,tenants,settle picks what runs.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { issueApiKey } from '../src/auth/api-keys.ts';
import type { GenerationModel } from '../src/catalog.ts';
import { notifyAnnouncer } from '../src/db/announce.ts';
import { createPrisma, type Db } from '../src/db/client.ts';
import { topUp } from '../src/ledger/credits.ts';
import { priceOf } from '../src/ledger/pricing.ts';
import { verifyLedger } from '../src/ledger/verify.ts';
import { createTenant } from '../src/tenants/service.ts';
import { benchDatabase, fmt, freshDatabase, median } from './lib.ts';
import { load, postgresCpu, profileFlags, startServer, type Server, gatewayEnv } from './procs.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** Each measured generation run lasts about this long (its request count is sized from the run before). */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const POOL = Number(process.env.BENCH_POOL ?? 10);
const TENANTS = Number(process.env.BENCH_TENANTS ?? 100);
/** Tasks made due at one moment in each settlement run. */
const SETTLE_TASKS = Number(process.env.BENCH_SETTLE_TASKS ?? 1000);
/** Both pollers' tick (TASK_POLL_INTERVAL_MS, default 500): shorter, so that the wait for the first tick is small beside the run. */
const POLL_INTERVAL_MS = Number(process.env.BENCH_POLL_INTERVAL_MS ?? 100);
/** Tasks each poller leases and polls at once (TASK_POLL_BATCH, the gateway's default). */
const POLL_BATCH = Number(process.env.BENCH_POLL_BATCH ?? 50);
/** Gateway processes (WEB_CONCURRENCY); the bare server stays one process. */
const PROCESSES = Number(process.env.WEB_CONCURRENCY ?? 1);
const PARTS = (process.env.BENCH_PARTS ?? 'hot,tenants,settle').split(',');
/**
 * synchronous_commit of the bench's two databases (ALTER DATABASE; nothing
 * else on the server changes). Default off: a commit then does not wait for
 * its WAL flush, as on the embedded PostgreSQL (fsync off) the published
 * figures used; with it on, both sides mostly measure the disk's flush time
 * (every statement of the hot tenant waits for it holding the account row).
 */
const SYNCHRONOUS_COMMIT = process.env.BENCH_SYNCHRONOUS_COMMIT ?? 'off';
/** More settings of the two databases, `name=value,…` (e.g. plan_cache_mode=force_generic_plan), to see what PostgreSQL's share is made of. */
const PG_SETTINGS = (process.env.BENCH_PG_SETTINGS ?? '').split(',').filter(Boolean).map((kv) => kv.split('=') as [string, string]);
const ADMIN = `bench-admin-${randomBytes(8).toString('hex')}`;
const SIM_KEY = `bench-sim-${randomBytes(8).toString('hex')}`;

// Exactly the gateway's settings that matter here, for both servers.
const TASK_SETTINGS = {
  TENANT_MAX_IN_FLIGHT: '100000',
  // First poll in an hour: accepted tasks wait until the bench makes them due.
  TASK_POLL_INITIAL_MS: '3600000',
  TASK_POLL_INTERVAL_MS: String(POLL_INTERVAL_MS),
  TASK_POLL_BATCH: String(POLL_BATCH),
};

interface Tenant {
  id: string;
  key: string;
}

interface Side {
  name: 'bare' | 'gateway';
  server: Server;
  db: Db;
  /** Its database's name: the PostgreSQL backends serving it are found by it. */
  database: string;
  /** Where a generation of this model is posted. */
  url(model: GenerationModel): string;
  hot: Tenant;
  many: Tenant[];
  settle: Tenant;
  /** Credits given to the bench tenants, and what the accepted requests must have cost. */
  toppedUp: number;
  owed: number;
  accepted: number;
}

/** Per second; the server's CPU ms per request; its database backends' CPU ms per request. */
type Figures = { rate: number; cpuMs: number; pgMs: number };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const med = (figures: Figures[], key: keyof Figures) => median(figures.map((f) => f[key]));

const started = performance.now();
const database = await benchDatabase();
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'gateway-bench-generate-'));
const servers: Server[] = [];
const clients: Db[] = [];
let bareDatabase: { url: string; close(): Promise<void> } | undefined;
let failed = false;
let cleaned: Promise<void> | undefined;
/** Stops every server (process groups of their own) and drops both databases; once, whoever asks first. */
function cleanup(): Promise<void> {
  cleaned ??= (async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await Promise.all(clients.map((c) => c.$disconnect().catch(() => {})));
    await bareDatabase?.close();
    await database.close();
    await rm(dataDir, { recursive: true, force: true });
  })();
  return cleaned;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`${signal}: stopping the servers and dropping the bench's databases`);
    void cleanup().finally(() => process.exit(130));
  });
}
try {
  // A second fresh database on the same PostgreSQL (benchDatabase made the first).
  bareDatabase = await freshDatabase(database.url);
  for (const url of [database.url, bareDatabase.url]) await configureDatabase(url);
  await main(bareDatabase.url);
} catch (error) {
  failed = true;
  if (!cleaned) console.error(error);
} finally {
  await cleanup();
}
process.exit(failed ? 1 : 0);

function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

/** The bench's settings of one of its databases (they apply to every session opened after). */
async function configureDatabase(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  for (const [name, value] of [['synchronous_commit', SYNCHRONOUS_COMMIT], ...PG_SETTINGS] as Array<[string, string]>) {
    if (!/^[a-z_.]+$/.test(name) || !/^[A-Za-z0-9_.-]+$/.test(value ?? '')) throw new Error(`bad database setting ${name}=${value}`);
    await client.query(`ALTER DATABASE "${databaseName(url)}" SET ${name} = '${value}'`);
  }
  await client.end();
}

async function tenants(db: Db, label: string, n: number): Promise<Tenant[]> {
  const out: Tenant[] = [];
  for (let i = 0; i < n; i++) {
    const tenant = await createTenant(db, { name: `${label} ${i}` });
    const { secret } = await issueApiKey(db, { tenantId: tenant.id });
    out.push({ id: tenant.id, key: secret });
  }
  return out;
}

async function main(bareDatabaseUrl: string): Promise<void> {
  const gatewayDb = createPrisma(database.url);
  const bareDb = createPrisma(bareDatabaseUrl);
  clients.push(gatewayDb, bareDb);
  const setup = async (db: Db) => {
    const [hot] = await tenants(db, 'hot', 1);
    const [settle] = await tenants(db, 'settle', 1);
    return { hot: hot!, settle: settle!, many: await tenants(db, 'tenant', TENANTS) };
  };
  const [gatewayTenants, bareTenants] = await Promise.all([setup(gatewayDb), setup(bareDb)]);
  const price = {
    TEXT_TO_IMAGE: await priceOf(gatewayDb, gatewayTenants.hot.id, 'TEXT_TO_IMAGE'),
    TEXT_TO_VIDEO: await priceOf(gatewayDb, gatewayTenants.hot.id, 'TEXT_TO_VIDEO'),
  } as Record<GenerationModel, number>;
  for (const model of ['TEXT_TO_IMAGE', 'TEXT_TO_VIDEO'] as const) {
    if ((await priceOf(bareDb, bareTenants.hot.id, model)) !== price[model]) throw new Error(`the two databases price ${model} differently`);
  }

  const simulator = await startServer('simulator', ['src/simulator/main.ts'], {
    SIMULATOR_PORT: '0',
    SIMULATOR_API_KEY: SIM_KEY,
    SIMULATOR_CREDITS: '2000000000',
    SIMULATOR_LATENCY_MS: JSON.stringify({ default: '3600000', 'grok-imagine/text-to-video': '0' }),
  });
  servers.push(simulator);
  const upstream = { UPSTREAM_URL: simulator.url, UPSTREAM_API_KEY: SIM_KEY };
  const bare = await startServer('bare generate', ['bench/servers/bare-generate.ts'], {
    DATABASE_URL: bareDatabaseUrl,
    DATABASE_POOL_SIZE: String(POOL),
    ...upstream,
    ...TASK_SETTINGS,
  });
  servers.push(bare);
  const callbackSink = new URL(bare.url).origin;
  const gateway = await startServer(
    'gateway',
    ['bench/servers/gateway.ts'],
    {
      ...gatewayEnv({ databaseUrl: database.url, pool: POOL, adminToken: ADMIN, dataDir, processes: PROCESSES }),
      ...upstream,
      // Upstream's completion callbacks go to the bare server's sink (see the top).
      PUBLIC_URL: callbackSink,
      ...TASK_SETTINGS,
      TENANT_RATE_PER_MINUTE: '1000000',
    },
    profileFlags(),
  );
  servers.push(gateway);
  const yoga = await startServer('bare yoga', ['bench/servers/bare-yoga.ts'], {});
  servers.push(yoga);

  const ROUTES: Record<string, string> = { TEXT_TO_IMAGE: '/textToImage', TEXT_TO_VIDEO: '/textToVideo' };
  const sides: Side[] = [
    { name: 'bare', server: bare, db: bareDb, database: databaseName(bareDatabaseUrl), url: (m) => bare.url.replace('/graphql', ROUTES[m]!), ...bareTenants, toppedUp: 0, owed: 0, accepted: 0 },
    { name: 'gateway', server: gateway, db: gatewayDb, database: databaseName(database.url), url: () => gateway.url, ...gatewayTenants, toppedUp: 0, owed: 0, accepted: 0 },
  ];
  const [bareSide, gatewaySide] = sides as [Side, Side];

  const bodies = (model: GenerationModel) => {
    const field = model === 'TEXT_TO_IMAGE' ? 'textToImage' : 'textToVideo';
    const query = `mutation($p: String!) { ${field}(input: { prompt: $p }) { __typename ... on Mutation${field[0]!.toUpperCase()}${field.slice(1)}Success { data { id status } } } }`;
    return Array.from({ length: 100 }, (_, i) => JSON.stringify({ query, variables: { p: `bench ${i}` } }));
  };
  const BODIES = { TEXT_TO_IMAGE: bodies('TEXT_TO_IMAGE'), TEXT_TO_VIDEO: bodies('TEXT_TO_VIDEO') } as Record<GenerationModel, string[]>;
  const ACCEPTED = '"status":"IN_PROGRESS"';
  let topUps = 0;

  /** Gives each tenant exactly `credits` (through the ledger, announced as the admin API does). */
  async function fund(side: Side, who: Tenant[], credits: number): Promise<void> {
    const store = { db: side.db, announcer: notifyAnnouncer };
    for (const t of who) await topUp(store, { tenantId: t.id, amount: credits, idempotencyKey: `bench-${topUps++}` });
    side.toppedUp += credits * who.length;
  }

  /** Every tenant of a finished run has spent exactly what it was given: nothing held, nothing left, nothing overspent. */
  async function drained(side: Side, who: Tenant[], what: string): Promise<void> {
    const rows = await side.db.$queryRaw<{ tenant_id: string; available: number; held: number; in_flight: number }[]>`
      SELECT tenant_id, available, held, in_flight FROM account WHERE tenant_id = ANY(${who.map((t) => t.id)}::uuid[])
        AND (available <> 0 OR held <> 0)`;
    if (rows.length > 0) throw new Error(`${side.name} ${what}: balances not spent exactly: ${JSON.stringify(rows.slice(0, 5))}`);
  }

  /** Exactly `requests` generations of `model` by `who` (cycled), each tenant funded for exactly its share. */
  async function generations(side: Side, who: Tenant[], model: GenerationModel, requests: number): Promise<Figures> {
    if (requests % who.length !== 0) throw new Error(`${requests} requests do not split over ${who.length} tenants`);
    await fund(side, who, price[model] * (requests / who.length));
    const pgCpu = postgresCpu(side.database);
    const result = await load(side.server, {
      url: side.url(model),
      headers: {},
      headerSets: who.map((t) => ({ authorization: `Bearer ${t.key}` })),
      bodies: BODIES[model],
      requests,
      concurrency: CONCURRENCY,
      expect: ACCEPTED,
    });
    const pgMs = pgCpu.ms() / result.ok;
    side.accepted += result.ok;
    side.owed += price[model] * result.ok;
    await drained(side, who, `${model} x ${requests}`);
    return { rate: result.rate, cpuMs: result.cpuMs, pgMs };
  }

  type Workload = { name: string; part: string; who: (side: Side) => Tenant[] };
  const allWorkloads: Workload[] = [
    { name: 'textToImage, one hot tenant', part: 'hot', who: (s) => [s.hot] },
    { name: `textToImage, ${TENANTS} tenants`, part: 'tenants', who: (s) => s.many },
  ];
  const workloads = allWorkloads.filter((w) => PARTS.includes(w.part));

  // Warm every path (JIT, caches, connections), and size each run from the rate of the one before (the warm-up's, then each round's).
  const runLength = (rate: number, unit: number) => Math.max(2, Math.ceil((rate * SECONDS) / unit)) * unit;
  const hello = JSON.stringify({ query: '{ hello }' });
  const helloRun = async (): Promise<Figures> => ({
    ...(await load(yoga, { url: yoga.url, headers: {}, bodies: [hello], seconds: SECONDS, concurrency: CONCURRENCY, expect: 'world' })),
    pgMs: 0,
  });
  const requestsPerRun = new Map<string, number>();
  if (workloads.length > 0) await load(yoga, { url: yoga.url, headers: {}, bodies: [hello], seconds: 1, concurrency: CONCURRENCY, expect: 'world' });
  for (const w of workloads) {
    for (const side of sides) {
      const who = w.who(side);
      const unit = who.length;
      const warm = Math.ceil((side.name === 'bare' ? 1500 : 400) / unit) * unit;
      await generations(side, who, 'TEXT_TO_IMAGE', warm);
      const { rate } = await generations(side, who, 'TEXT_TO_IMAGE', warm);
      requestsPerRun.set(`${w.name}/${side.name}`, runLength(rate, unit));
    }
  }

  /** One settlement run: N finished tasks made due at once; the time until the last is SUCCESS. */
  async function settlements(side: Side, n: number): Promise<Figures & { allSettledMs: number }> {
    await generations(side, [side.settle], 'TEXT_TO_VIDEO', n);
    // Upstream finished them as it accepted them; let its callbacks (to the sink) drain.
    await sleep(300);
    const before = side.server.cpuMs();
    const pgCpu = postgresCpu(side.database);
    const [due] = await side.db.$queryRaw<{ ids: string[] | null; at: Date }[]>`
      WITH due AS (UPDATE task SET next_poll_at = now() WHERE tenant_id = ${side.settle.id}::uuid AND status = 'IN_PROGRESS' RETURNING id)
      SELECT array_agg(id) AS ids, now() AS at FROM due`;
    const ids = due?.ids ?? [];
    if (ids.length !== n) throw new Error(`${side.name}: ${ids.length} tasks in progress, expected ${n}`);
    let last: Date | null = null;
    for (const deadline = Date.now() + 120_000; ; ) {
      const [done] = await side.db.$queryRaw<{ settled: number; last: Date | null }[]>`
        SELECT count(*)::int AS settled, max(completed_at) AS last FROM task WHERE id = ANY(${ids}::uuid[]) AND status = 'SUCCESS'`;
      if (done!.settled === n) {
        last = done!.last;
        break;
      }
      if (Date.now() > deadline) throw new Error(`${side.name}: ${done!.settled} of ${n} tasks settled after 120 s`);
      await sleep(50);
    }
    const cpu = side.server.cpuMs() - before;
    const pgMs = pgCpu.ms() / n;
    const [account] = await side.db.$queryRaw<{ available: number; held: number; in_flight: number }[]>`
      SELECT available, held, in_flight FROM account WHERE tenant_id = ${side.settle.id}::uuid`;
    if (account!.available !== 0 || account!.held !== 0 || account!.in_flight !== 0) {
      throw new Error(`${side.name}: after settling, the tenant's account is ${JSON.stringify(account)}`);
    }
    const ms = last!.getTime() - due!.at.getTime();
    return { rate: n / (ms / 1000), cpuMs: cpu / n, pgMs, allSettledMs: ms };
  }
  const settling = PARTS.includes('settle');
  if (settling) for (const side of sides) await settlements(side, 200);

  const results = new Map<string, { yoga: Figures[]; bare: Figures[]; gateway: Figures[] }>(workloads.map((w) => [w.name, { yoga: [], bare: [], gateway: [] }]));
  const settled = { bare: [] as Array<Figures & { allSettledMs: number }>, gateway: [] as Array<Figures & { allSettledMs: number }> };
  const verified: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const runs: Array<() => Promise<unknown>> = [];
    const yogaRates: Figures[] = [];
    if (workloads.length > 0) runs.push(async () => yogaRates.push(await helloRun()));
    for (const w of workloads) {
      for (const side of sides) {
        runs.push(async () => {
          const key = `${w.name}/${side.name}`;
          const who = w.who(side);
          const figures = await generations(side, who, 'TEXT_TO_IMAGE', requestsPerRun.get(key)!);
          results.get(w.name)![side.name].push(figures);
          requestsPerRun.set(key, runLength(figures.rate, who.length));
        });
      }
    }
    if (settling) for (const side of sides) runs.push(async () => settled[side.name].push(await settlements(side, SETTLE_TASKS)));
    // Rotate the order each round.
    for (let i = 0; i < runs.length; i++) await runs[(i + round) % runs.length]!();
    for (const slot of results.values()) slot.yoga.push(yogaRates[0]!);

    // After every round: what was spent is price × accepted, nothing is below 0, and both ledgers verify.
    for (const side of sides) {
      const [sum] = await side.db.$queryRaw<{ balance: bigint | null; negative: bigint }[]>`
        SELECT sum(available + held) AS balance, count(*) FILTER (WHERE available < 0 OR held < 0) AS negative FROM account WHERE kind = 'TENANT'`;
      const spent = side.toppedUp - Number(sum!.balance ?? 0);
      const violations = await verifyLedger(side.db);
      if (spent !== side.owed || Number(sum!.negative) > 0 || violations.length > 0) {
        throw new Error(
          `${side.name}, round ${round + 1}: credits spent ${spent}, price x accepted ${side.owed}, negative accounts ${sum!.negative}, ledger: ${JSON.stringify(violations.slice(0, 5))}`,
        );
      }
    }
    verified.push(`round ${round + 1}: ok`);
  }

  console.log(
    `bench:generate  ~${SECONDS} s per generation run, ${CONCURRENCY} connections, rounds=${ROUNDS}, pool=${POOL}, gateway processes=${PROCESSES}, synchronous_commit=${SYNCHRONOUS_COMMIT}${PG_SETTINGS.map(([k, v]) => `, ${k}=${v}`).join('')}, ${os.cpus().length} cores, Node ${process.version}`,
  );
  if (workloads.length > 0) {
    console.log(
      '| accepted per second | bare Yoga `{ hello }` | same work bare | ceiling | gateway | gateway / ceiling | gateway / bare Yoga | CPU per request: Yoga / bare / gateway | PostgreSQL CPU per request: bare / gateway |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const [name, slot] of results) {
      const y = med(slot.yoga, 'rate');
      const b = med(slot.bare, 'rate');
      const g = med(slot.gateway, 'rate');
      const ceiling = 1 / (1 / y + 1 / b);
      const cpu = (f: Figures[], key: 'cpuMs' | 'pgMs' = 'cpuMs') => med(f, key).toFixed(3);
      console.log(
        `| ${name} | ${fmt(y)}/s | ${fmt(b)}/s | ${fmt(ceiling)}/s | **${fmt(g)}/s** | **${(g / ceiling).toFixed(2)}×** | ${(g / y).toFixed(2)}× | ${cpu(slot.yoga)} / ${cpu(slot.bare)} / ${cpu(slot.gateway)} ms | ${cpu(slot.bare, 'pgMs')} / ${cpu(slot.gateway, 'pgMs')} ms |`,
      );
    }
    for (const [name, slot] of results) {
      console.log(`  ${name} rounds: yoga ${slot.yoga.map((f) => fmt(f.rate)).join(', ')}; bare ${slot.bare.map((f) => fmt(f.rate)).join(', ')}; gateway ${slot.gateway.map((f) => fmt(f.rate)).join(', ')}`);
    }
  }
  if (settling) {
    const b = med(settled.bare, 'rate');
    const g = med(settled.gateway, 'rate');
    console.log(
      '| settlements | same work bare | gateway | gateway / bare | CPU per settlement: bare / gateway | PostgreSQL CPU per settlement: bare / gateway | gateway: last settled after |',
    );
    console.log('|---|---|---|---|---|---|---|');
    console.log(
      `| ${fmt(SETTLE_TASKS)} tasks due at once, poller batch ${POLL_BATCH}, tick ${POLL_INTERVAL_MS} ms | ${fmt(b)}/s | **${fmt(g)}/s** | **${(g / b).toFixed(2)}×** | ${med(settled.bare, 'cpuMs').toFixed(3)} / ${med(settled.gateway, 'cpuMs').toFixed(3)} ms | ${med(settled.bare, 'pgMs').toFixed(3)} / ${med(settled.gateway, 'pgMs').toFixed(3)} ms | ${(median(settled.gateway.map((s) => s.allSettledMs)) / 1000).toFixed(2)} s |`,
    );
    console.log(`  settlement rounds: bare ${settled.bare.map((f) => fmt(f.rate)).join(', ')}; gateway ${settled.gateway.map((f) => fmt(f.rate)).join(', ')}`);
  }
  console.log(
    `checks (after every round): accepted gateway=${fmt(gatewaySide.accepted)} bare=${fmt(bareSide.accepted)}, refused none; ` +
      `credits spent = price x accepted on both (gateway ${fmt(gatewaySide.owed)}, bare ${fmt(bareSide.owed)}); overspend none; ledger:verify ok on both (${verified.length} rounds)`,
  );
  console.log(`targets: gateway >= 0.6x its ceiling for each workload.  total ${((performance.now() - started) / 1000).toFixed(0)} s`);
}
