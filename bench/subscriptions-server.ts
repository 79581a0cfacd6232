// The server side of bench:subscriptions, one process per run so that its RSS
// (read by the parent from /proc/<pid>/status) holds nothing but the server
// and its connections. Two kinds, started the same way:
//
//   gateway: the whole gateway (startGateway), one tenant with an API key and
//            N IN_PROGRESS tasks; `settle` ends them all through the
//            lifecycle's settle, as the poller does (the statement commits
//            the task, the slot and its NOTIFY together).
//   raw:     a plain `ws` WebSocketServer on an HTTP server; a client says
//            {"i": n} once open and gets `ack` back; `broadcast` sends one
//            payload to every client.
//
// Protocol: JSON lines. argv[2] is a JSON object of settings; the process
// prints {"type":"ready",...}, then answers commands read from stdin.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import v8 from 'node:v8';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Task } from '../src/generated/prisma/client.ts';
import { commands, fullGc, ownRssKiB, processMeter, reply, settleRss, wallNow } from './jsonl.ts';

export type ServerSettings =
  | { kind: 'gateway'; n: number; databaseUrl: string; poolSize: number; keepAliveMs: number; maxConnections: number }
  | { kind: 'raw'; n: number; ack: string };

const settings = JSON.parse(process.argv[2] ?? '{}') as ServerSettings;
const meter = processMeter();

/** What a kind of server does beyond the common commands. */
interface Runner {
  /** Ends every task (gateway) or sends the payload to every client (raw); per-index timestamps. */
  burst(command: Record<string, unknown>): Promise<{ t0: number; t1: number; at: number[]; done: number }>;
  close(): Promise<void>;
}

async function gatewayRunner(s: Extract<ServerSettings, { kind: 'gateway' }>): Promise<Runner> {
  // Loaded here so that the raw server's process does not carry the gateway's modules.
  const { startGateway } = await import('../src/app.ts');
  const { loadConfig } = await import('../src/config.ts');
  const { createLogger } = await import('../src/logger.ts');
  const { createTenant } = await import('../src/tenants/service.ts');
  const { issueApiKey } = await import('../src/auth/api-keys.ts');
  const { settle } = await import('../src/tasks/lifecycle.ts');
  const { encodeGlobalID: encodeGlobalId } = await import('@pothos/plugin-relay');
  const { runConcurrent } = await import('./lib.ts');

  const config = loadConfig({
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: s.databaseUrl,
    DATABASE_POOL_SIZE: String(s.poolSize),
    ADMIN_TOKEN: 'bench-admin-token-0123456789',
    LOG_LEVEL: 'silent',
    SEED_DEMO_TENANT: 'false',
    // No upstream traffic: tasks are settled by this script, never polled.
    UPSTREAM_URL: 'http://127.0.0.1:9/api',
    UPSTREAM_API_KEY: 'bench-unused',
    SIMULATOR_LATENCY_MS: '600000',
    TASK_POLL_INITIAL_MS: '600000',
    TENANT_MAX_IN_FLIGHT: '100000',
    TENANT_RATE_PER_MINUTE: '1000000',
    WS_KEEPALIVE_MS: String(s.keepAliveMs),
    LIVE_MAX_CONNECTIONS_PER_TENANT: String(s.maxConnections),
    LIVE_MAX_SUBSCRIPTIONS_PER_TENANT: '10000000',
    TENANT_REQUESTS_PER_MINUTE: '10000000',
    WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '50',
    DATA_DIR: '.data/bench',
  });
  const gateway = await startGateway(config, { logger: createLogger('silent'), migrate: false });
  const db = gateway.deps.db;

  const tenant = await createTenant(db, { name: `subscriptions-${s.n}` });
  const { secret } = await issueApiKey(db, { tenantId: tenant.id, name: 'bench' });
  // Settling SUCCESS only releases the in-flight slot (CHECK in_flight >= 0).
  await db.account.update({ where: { tenantId: tenant.id }, data: { inFlight: s.n } });
  // Created (and read back) 500 at a time: one big read would leave the
  // database driver holding its buffers, tens of MiB, until some later moment
  // of its own, in the middle of the memory readings.
  const tasks: Task[] = [];
  for (let from = 0; from < s.n; from += 500) {
    const created = await db.task.createManyAndReturn({
      data: Array.from({ length: Math.min(500, s.n - from) }, (_, j) => ({
        id: randomUUID(),
        tenantId: tenant.id,
        model: 'TEXT_TO_IMAGE' as const,
        status: 'IN_PROGRESS' as const,
        prompt: 'bench',
        requestHash: 'x',
        callbackToken: 'x',
        creditsCharged: 5,
        upstreamTaskId: `bench-${from + j}-${randomUUID()}`,
        submittedAt: new Date(),
      })),
    });
    tasks.push(...created);
  }
  const ids = tasks.map((task) => task.id);

  reply({
    type: 'ready',
    url: gateway.graphqlUrl.replace(/^http/, 'ws'),
    key: secret,
    ids: ids.map((id) => encodeGlobalId('Task', id)),
  });

  return {
    async burst() {
      const at = new Array<number>(s.n).fill(0);
      let done = 0;
      const t0 = wallNow();
      // All at once, as far as the pool allows: one settle transaction per connection.
      await runConcurrent(s.n, s.poolSize, async (i) => {
        // The stamp the client's receipt is measured against: before the
        // statement is sent, since its event (NOTIFY) commits with it and may
        // reach the client before the statement's answer reaches this process.
        const sent = wallNow();
        const ended = await settle(gateway.deps.store, tasks[i]!, {
          status: 'SUCCESS',
          resultUrls: [`https://cdn.example.com/bench/${i}.png`],
          consumedCredits: 5,
        });
        if (!ended) return;
        at[i] = sent;
        done++;
      });
      return { t0, t1: wallNow(), at, done };
    },
    close: () => gateway.close(),
  };
}

async function rawRunner(s: Extract<ServerSettings, { kind: 'raw' }>): Promise<Runner> {
  const http = createServer((_req, res) => {
    res.writeHead(404).end();
  });
  // As the gateway's: same path kind, same payload limit, no compression (ws's default).
  const wss = new WebSocketServer({ server: http, path: '/raw', maxPayload: 1024 * 1024 });
  const sockets = new Array<WebSocket | undefined>(s.n);
  wss.on('connection', (socket) => {
    socket.once('message', (data) => {
      const i = Number((JSON.parse(String(data)) as { i: number }).i);
      if (Number.isInteger(i) && i >= 0 && i < s.n) sockets[i] = socket;
      socket.send(s.ack);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
  const { port } = http.address() as AddressInfo;
  reply({ type: 'ready', url: `ws://127.0.0.1:${port}/raw` });
  return {
    async burst(command) {
      const payload = String(command['payload']);
      const at = new Array<number>(s.n).fill(0);
      let done = 0;
      const t0 = wallNow();
      for (let i = 0; i < s.n; i++) {
        const socket = sockets[i];
        if (!socket) continue;
        at[i] = wallNow();
        socket.send(payload);
        done++;
      }
      return { t0, t1: wallNow(), at, done };
    },
    async close() {
      for (const socket of wss.clients) socket.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/**
 * Allocates and drops ~200 MB of small objects, so that every page of the
 * young generation has been used once before the first reading: a server
 * that has allocated little since it started (the raw one) would otherwise
 * have pages of it become resident while the clients connect.
 */
function touchYoungGeneration(): number {
  let live: { i: number }[] = [];
  let sum = 0;
  for (let i = 0; i < 8_000_000; i++) {
    live.push({ i });
    if (live.length === 4096) {
      sum += live.length;
      live = [];
    }
  }
  return sum;
}

touchYoungGeneration();
const runner = settings.kind === 'gateway' ? await gatewayRunner(settings) : await rawRunner(settings);

for await (const command of commands()) {
  if (command.cmd === 'gc') {
    // The heap right after a full GC; RSS once the freed pages have gone back.
    fullGc();
    const memory = process.memoryUsage();
    const settledMs = await settleRss();
    const spaces = v8.getHeapSpaceStatistics();
    const young = spaces
      .filter((space) => space.space_name === 'new_space' || space.space_name === 'new_large_object_space')
      .reduce((sum, space) => sum + space.physical_space_size, 0);
    reply({
      type: 'gc',
      settledMs,
      rssKiB: ownRssKiB(),
      anonKiB: ownRssKiB('RssAnon'),
      fileKiB: ownRssKiB('RssFile'),
      youngKiB: young / 1024,
      heapUsed: memory.heapUsed,
      heapTotal: memory.heapTotal,
      external: memory.external,
      spaces: Object.fromEntries(spaces.map((space) => [space.space_name, space.physical_space_size])),
    });
  } else if (command.cmd === 'snapshot') {
    // For looking into where the memory goes (Chrome DevTools, Memory tab).
    fullGc();
    reply({ type: 'snapshot', file: v8.writeHeapSnapshot(String(command['file'])) });
  } else if (command.cmd === 'mark') {
    meter.mark();
    reply({ type: 'marked' });
  } else if (command.cmd === 'stats') {
    reply({ type: 'stats', stats: meter.read() });
  } else if (command.cmd === 'burst') {
    meter.mark();
    const result = await runner.burst(command);
    reply({ type: 'burst', ...result, at: result.at.map((t) => Math.round(t * 1000) / 1000), stats: meter.read() });
  } else if (command.cmd === 'exit') {
    break;
  }
}
await runner.close();
process.exit(0);
