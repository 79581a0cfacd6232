// `npm run soak -- --kills N`: mixed load on several tenants through three
// gateway processes, SIGKILLed N times at random moments, over a
// PostgreSQL restarted at least twice and an upstream simulator that fails
// tasks and answers 500 and 429; then, once every task has ended, the money,
// the upstream spend, the webhooks, the clients' answers and `ledger:verify`
// are checked. Loopback only, bounded in time; its last line is
// `soak: kills=N tasks=T violations=V`, and it exits 1 on any violation.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { runChaos, type ChaosLog } from './soak/chaos.ts';
import { checkBalances, checkClients, checkTasksEnded, checkUpstreamSpend, checkWebhooks, taskCounts, type Check, type SimCounters } from './soak/checks.ts';
import { GatewayPool } from './soak/gateways.ts';
import { Load, type Tenant } from './soak/load.ts';
import { freePort, killAllChildren, makeWorkDir, removeWorkDir, sleep, stopChild } from './soak/procs.ts';
import { SoakPostgres } from './soak/postgres.ts';
import { WebhookReceiver } from './soak/receiver.ts';
import { setupTenants } from './soak/setup.ts';
import type { SimTaskView } from './soak/simulator.ts';
import { Subscribers } from './soak/subscribers.ts';
import { ADMIN_TOKEN, checkFaults, gatewayEnv, ledgerVerify, startSimulator, WEBHOOK_SCHEDULE } from './soak/world.ts';

const { values: args } = parseArgs({
  options: {
    kills: { type: 'string', default: '5' },
    'interval-ms': { type: 'string' },
    'min-load-s': { type: 'string', default: '20' },
    'deadline-s': { type: 'string' },
    tenants: { type: 'string', default: '4' },
    workers: { type: 'string', default: '3' },
    gateways: { type: 'string', default: '3' },
    seed: { type: 'string', default: '20261201' },
    keep: { type: 'boolean', default: false },
  },
});
const KILLS = Number(args.kills);
const MIN_LOAD_MS = Number(args['min-load-s']) * 1000;
const INTERVAL_MS = Number(args['interval-ms'] ?? Math.max(2000, Math.round(MIN_LOAD_MS / Math.max(1, KILLS))));
// Generous: on a busy machine a gateway can take 20 s to start, and kills wait for one to be up.
const DEADLINE_MS = Number(args['deadline-s'] ?? 300 + KILLS * 15) * 1000;
const PG_RESTARTS = Math.max(2, Math.round(KILLS / 40));

const started = Date.now();
const log = (line: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${line}`);
const chaosLog: ChaosLog = { kills: 0, killsWhileStarting: 0, pgRestarts: [] };
let tasksTotal = 0;

process.chdir(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..'));
const workDir = await makeWorkDir();
const logDir = path.join(workDir, 'logs');
await mkdir(logDir, { recursive: true });
const pg = new SoakPostgres(path.join(workDir, 'pg'));
const receiver = new WebhookReceiver({ alwaysFail: 0.05, failRate: 0.15, hangRate: 0.08, hangMs: 900 });
let sql: postgres.Sql | null = null;
let finished = false;

async function cleanup(): Promise<void> {
  killAllChildren();
  await receiver.stop().catch(() => undefined);
  await sql?.end({ timeout: 1 }).catch(() => undefined);
  await pg.stop().catch(() => pg.killNow());
  if (!args.keep) await removeWorkDir(workDir);
}

function finish(violations: number): never {
  finished = true;
  console.log(`soak: kills=${chaosLog.kills} tasks=${tasksTotal} violations=${violations}`);
  process.exit(violations > 0 ? 1 : 0);
}

// However it ends (a failure, a signal, the hard deadline), children go and the data directory with them.
let aborting = false;
const abort = (why: string) => {
  if (finished || aborting) return;
  aborting = true;
  console.error(`soak: ${why}`);
  void cleanup().finally(() => finish(1));
};
setTimeout(() => abort(`hard deadline of ${DEADLINE_MS / 1000} s exceeded`), DEADLINE_MS).unref();
process.on('SIGINT', () => abort('interrupted'));
process.on('SIGTERM', () => abort('terminated'));
process.on('uncaughtException', (error) => abort(`crashed: ${error.stack ?? error}`));
process.on('unhandledRejection', (error) => abort(`crashed: ${error instanceof Error ? error.stack : String(error)}`));

async function waitForEnd(timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (let last = ''; Date.now() < until; await sleep(500)) {
    const counts = await taskCounts(sql!).catch(() => null);
    const [pending] = await sql!<{ n: number }[]>`SELECT count(*)::int AS n FROM webhook_delivery WHERE status = 'PENDING'`.catch(() => [{ n: -1 }]);
    if (!counts) continue;
    const open = (counts.SUBMITTING ?? 0) + (counts.IN_PROGRESS ?? 0);
    const line = `waiting for the end: ${open} tasks open, ${pending!.n} webhooks pending`;
    if (line !== last) log((last = line));
    if (open === 0 && pending!.n === 0) return;
  }
}

async function main(): Promise<void> {
  log(`soak: kills=${KILLS}, ~${INTERVAL_MS} ms apart, ${PG_RESTARTS} PostgreSQL restarts, hard deadline ${DEADLINE_MS / 1000} s; work dir ${path.relative(process.cwd(), workDir)}`);
  await pg.start();
  const databaseUrl = await pg.createDatabase('soak');
  sql = postgres(databaseUrl, { max: 2, onnotice: () => undefined });
  const sim = await startSimulator(String(args.seed));
  await receiver.start();
  const ports = await Promise.all(Array.from({ length: Number(args.gateways) }, () => freePort()));
  const pool = new GatewayPool(ports, gatewayEnv(databaseUrl, sim, path.join(workDir, 'gateway')), logDir);
  await pool.startAll();
  log(`PostgreSQL, simulator (seed ${args.seed}, 15% failures, 5% 500s, 60 req/s before 429) and ${ports.length} gateways up`);

  let tenants: Tenant[] = [];
  const subscribers = new Subscribers(pool, (tenant, event) => {
    const t = tenants[tenant];
    if (!t || event.status !== 'SUCCESS') return;
    const add = (list: string[]) => {
      if (!list.includes(event.id)) list.push(event.id);
      if (list.length > 50) list.shift();
    };
    add(t.sources.any);
    if (event.model === 'TEXT_TO_IMAGE') add(t.sources.image);
  });
  const clients = new Map<number, ReturnType<Subscribers['startTenant']>>();
  let follows = 0;
  const load = new Load(pool, {
    workersPerTenant: Number(args.workers),
    thinkMs: [100, 500],
    receiverUrl: receiver.url,
    adminToken: ADMIN_TOKEN,
    onAccepted: (t, taskId) => {
      if (Math.random() > 0.2 || subscribers.activeFollowers >= 60) return;
      subscribers.follow(clients.get(t.index)!, t.key, taskId, follows++ % 2 === 0 ? 'ws' : 'sse');
    },
  });
  tenants = await setupTenants(pool, receiver, load, { tenants: Number(args.tenants), adminToken: ADMIN_TOKEN, initialCredits: 200_000, leanCredits: 150 });
  for (const t of tenants) clients.set(t.index, subscribers.startTenant(t.index, t.key));
  load.start(tenants);
  log(`${tenants.length} tenants (the last one lean), ${Number(args.workers)} generation workers each, subscribers on WebSocket and SSE; load running`);

  const every = KILLS <= 20 ? 1 : 10;
  let killsLogged = 0;
  const chaos = runChaos({ kills: KILLS, intervalMs: INTERVAL_MS, pgRestarts: PG_RESTARTS }, pool, pg, chaosLog, (what) => log(what));
  const progress = setInterval(() => {
    if (chaosLog.kills >= killsLogged + every) {
      killsLogged = chaosLog.kills - (chaosLog.kills % every);
      log(`kills ${chaosLog.kills}/${KILLS}; requests ${load.stats.requests}, accepted ${load.stats.accepted}; gateways up ${pool.up().length}/${ports.length}`);
    }
  }, 250);
  await Promise.all([chaos, sleep(MIN_LOAD_MS)]);
  clearInterval(progress);
  log(`faults done: ${chaosLog.kills} kills, ${chaosLog.pgRestarts.length} PostgreSQL restarts; stopping the load`);

  await load.stop(30_000);
  await pool.waitUntil(() => pool.up().length > 0);
  await waitForEnd(120_000);
  // Every top-up once more: a replay must answer with the entry the first one made.
  await Promise.all(load.topUps.map((record) => load.topUp(record, Date.now() + 30_000)));
  await subscribers.waitForFollowers(20_000);
  await subscribers.stop();
  const stops = await pool.stopAll(10_000);
  const counters = (await (await fetch(`${sim.controlUrl}/counters`)).json()) as SimCounters;
  const simTasks = (await (await fetch(`${sim.controlUrl}/tasks`)).json()) as SimTaskView[];
  const simCrashed = !sim.child.alive();
  await stopChild(sim.child, 5000);

  const counts = await taskCounts(sql);
  tasksTotal = Object.values(counts).reduce((a, b) => a + b, 0);
  const checks: Check[] = [
    checkTasksEnded(counts),
    await checkBalances(sql, load),
    await checkUpstreamSpend(sql, simTasks, counters),
    await checkWebhooks(sql, receiver, WEBHOOK_SCHEDULE),
    await checkClients(sql, load, subscribers),
    await ledgerVerify(databaseUrl),
    checkFaults({ kills: KILLS, chaos: chaosLog, pool, stops, simCrashed }),
  ];
  const s = load.stats;
  log(
    `load: ${s.requests} generation requests (${s.retries} retries with the same key, ${s.duplicateGroups} sent 2-3 times at once, ${s.replays} replays), ${s.accepted} accepted, ${s.gaveUp} given up; answers ${JSON.stringify(Object.fromEntries(s.answers))}`,
  );
  let violations = 0;
  for (const check of checks) {
    console.log(`${check.ok ? 'PASS' : 'FAIL'} ${check.name}`);
    for (const line of check.lines) console.log(`     ${line}`);
    if (!check.ok) violations++;
  }
  log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  await cleanup();
  finish(violations);
}

await main().catch((error: unknown) => abort(`failed: ${error instanceof Error ? error.stack : String(error)}`));
