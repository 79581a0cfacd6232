// Two gateways poll one database: the poll lease (claimDueTasks in
// src/tasks/store.ts, `FOR UPDATE SKIP LOCKED` plus `lease_until`) means no
// task is ever polled by both at once. Each gateway reaches the simulator
// through a counting proxy of its own that holds every /status call for a
// while, and records, per upstream task, every call's start and end: two
// calls for one task in flight together would be two pollers at once.
// Tasks are created with a first poll a minute away; then, round after round,
// every task is made due at the same instant and both pollers race for them.
// Each round allows each task exactly one poll (the next is a minute away).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Gateway } from '../../src/app.ts';
import { startSimulator, type SimulatorHandle } from '../../src/simulator/server.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { ADMIN_TOKEN, startGatewayOn } from '../helpers/gateway.ts';
import { gql, success, type ResultUnion } from '../helpers/graphql.ts';

const TASKS = 40;
const ROUNDS = 3;
/** How long the proxy holds each /status call: long enough that two pollers' calls would overlap. */
const STATUS_HOLD_MS = 100;

interface StatusCall {
  taskId: string;
  gateway: string;
  start: number;
  end: number | null;
}

/** Everything both proxies saw: every /status call and, per task, how many are in flight now. */
class StatusLog {
  readonly calls: StatusCall[] = [];
  readonly inFlight = new Map<string, number>();
  readonly inFlightByGateway = new Map<string, number>();
  /** Tasks that had two /status calls in flight at once. */
  readonly overlapping: string[] = [];
  /** Whether both gateways ever had a /status call in flight at the same moment (they really raced). */
  bothAtOnce = false;
  private seq = 0;

  begin(taskId: string, gateway: string): StatusCall {
    const call: StatusCall = { taskId, gateway, start: this.seq++, end: null };
    this.calls.push(call);
    const now = (this.inFlight.get(taskId) ?? 0) + 1;
    this.inFlight.set(taskId, now);
    if (now > 1) this.overlapping.push(taskId);
    this.inFlightByGateway.set(gateway, (this.inFlightByGateway.get(gateway) ?? 0) + 1);
    if ([...this.inFlightByGateway.values()].filter((n) => n > 0).length > 1) this.bothAtOnce = true;
    return call;
  }

  end(call: StatusCall): void {
    call.end = this.seq++;
    this.inFlight.set(call.taskId, this.inFlight.get(call.taskId)! - 1);
    this.inFlightByGateway.set(call.gateway, this.inFlightByGateway.get(call.gateway)! - 1);
  }

  pending(): number {
    return this.calls.filter((c) => c.end === null).length;
  }

  perTask(taskId: string): StatusCall[] {
    return this.calls.filter((c) => c.taskId === taskId);
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** An HTTP proxy to the simulator that logs (and holds) each /status call. */
async function startProxy(simulator: SimulatorHandle, gateway: string, log: StatusLog): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const url = new URL(req.url ?? '/', simulator.origin);
      const taskId = url.pathname.endsWith('/status') ? url.searchParams.get('task_id') : null;
      const call = taskId ? log.begin(taskId, gateway) : null;
      try {
        if (call) await new Promise((resolve) => setTimeout(resolve, STATUS_HOLD_MS));
        const headers: Record<string, string> = {};
        for (const name of ['authorization', 'content-type']) {
          const value = req.headers[name];
          if (typeof value === 'string') headers[name] = value;
        }
        const upstream = await fetch(url, { method: req.method, headers, body: body.length > 0 ? new Uint8Array(body) : undefined });
        const answer = Buffer.from(await upstream.arrayBuffer());
        const out: Record<string, string> = { 'content-type': upstream.headers.get('content-type') ?? 'application/json' };
        const retryAfter = upstream.headers.get('retry-after');
        if (retryAfter) out['retry-after'] = retryAfter;
        res.writeHead(upstream.status, out);
        // The call ends for the log before the poller gets its answer, so a
        // next call that the answer leads to can never look like an overlap.
        if (call) log.end(call);
        res.end(answer);
      } catch (error) {
        if (call && call.end === null) log.end(call);
        res.writeHead(502).end(String(error));
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`, server };
}

let simulator: SimulatorHandle;
let database: TestDatabase;
const log = new StatusLog();
const proxies: Server[] = [];
const gateways: Gateway[] = [];

beforeAll(async () => {
  // Upstream never finishes a task during the test: every poll answers IN_PROGRESS.
  simulator = await startSimulator({ latencyMs: '600000' });
  database = await createTestDatabase();
  for (const name of ['A', 'B']) {
    const proxy = await startProxy(simulator, name, log);
    proxies.push(proxy.server);
    gateways.push(
      await startGatewayOn(database.url, { url: proxy.url, apiKey: simulator.apiKey }, {
        // First poll, and every later one, about a minute away (±20%): each
        // round below allows each task exactly one poll.
        TASK_POLL_INITIAL_MS: '60000',
        TASK_POLL_MAX_MS: '60000',
        // Both pollers look for due tasks all the time, a few at a time, so they interleave.
        TASK_POLL_INTERVAL_MS: '10',
        TASK_POLL_BATCH: '4',
        TASK_LEASE_MS: '30000',
        TENANT_MAX_IN_FLIGHT: '1000',
        TENANT_RATE_PER_MINUTE: '100000',
      }),
    );
  }
}, 60_000);

afterAll(async () => {
  for (const gateway of gateways) await gateway.close();
  for (const server of proxies) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  await simulator?.stop();
  await database?.drop();
});

async function tenantKey(url: string): Promise<string> {
  const created = await gql<{ createTenant: ResultUnion<{ id: string }> }>(
    url,
    `mutation { createTenant(input: { name: "lease" }) { __typename ... on MutationCreateTenantSuccess { data { id } } } }`,
    { token: ADMIN_TOKEN },
  );
  const id = success(created.data!.createTenant).id;
  const topped = await gql<{ topUpCredits: ResultUnion<unknown> }>(
    url,
    `mutation($id: ID!) { topUpCredits(input: { tenantId: $id, amount: 10000, idempotencyKey: "k" }) { __typename } }`,
    { token: ADMIN_TOKEN, variables: { id } },
  );
  success(topped.data!.topUpCredits);
  const issued = await gql<{ issueApiKey: ResultUnion<{ secret: string }> }>(
    url,
    `mutation($id: ID!) { issueApiKey(input: { tenantId: $id }) { __typename ... on MutationIssueApiKeySuccess { data { secret } } } }`,
    { token: ADMIN_TOKEN, variables: { id } },
  );
  return success(issued.data!.issueApiKey).secret;
}

describe('the poll lease, two gateways on one database', () => {
  it(`${TASKS} tasks made due at once, ${ROUNDS} rounds: each polled once per round, never by both gateways at once`, async () => {
    const db = database.prisma;
    const key = await tenantKey(gateways[0]!.graphqlUrl);
    // Submitted through both gateways.
    await Promise.all(
      Array.from({ length: TASKS }, async (_, i) => {
        const res = await gql<{ textToImage: ResultUnion<{ id: string }> }>(
          gateways[i % 2]!.graphqlUrl,
          `mutation($p: String!) { textToImage(input: { prompt: $p }) { __typename ... on MutationTextToImageSuccess { data { id } } ... on Error { code message } } }`,
          { token: key, variables: { p: `lease ${i}` } },
        );
        success(res.data!.textToImage);
      }),
    );
    const tasks = await db.task.findMany({ where: { status: 'IN_PROGRESS' }, select: { id: true, upstreamTaskId: true, pollAttempts: true } });
    expect(tasks).toHaveLength(TASKS);
    // Nobody has polled yet: the first poll is a minute away.
    expect(log.calls).toEqual([]);

    for (let round = 1; round <= ROUNDS; round++) {
      // Every task due at the same instant: both pollers race for all of them.
      await db.$executeRaw`UPDATE task SET next_poll_at = now() WHERE status = 'IN_PROGRESS'`;
      // The round is over when every task was polled and rescheduled, and no call is in flight.
      await vi.waitFor(
        async () => {
          const due = await db.task.count({ where: { status: 'IN_PROGRESS', OR: [{ pollAttempts: { lt: round } }, { leaseUntil: { not: null } }] } });
          expect(due).toBe(0);
          expect(log.pending()).toBe(0);
        },
        { timeout: 20_000, interval: 50 },
      );
    }

    // Never two /status calls for one task in flight together.
    expect(log.overlapping).toEqual([]);
    // Each task polled exactly as often as its schedule allowed: once per round.
    const rows = await db.task.findMany({ where: { id: { in: tasks.map((t) => t.id) } }, select: { upstreamTaskId: true, pollAttempts: true } });
    const callsPerTask = Object.fromEntries(rows.map((r) => [r.upstreamTaskId, log.perTask(r.upstreamTaskId!).length]));
    expect(callsPerTask).toEqual(Object.fromEntries(rows.map((r) => [r.upstreamTaskId, ROUNDS])));
    expect(rows.map((r) => r.pollAttempts)).toEqual(rows.map(() => ROUNDS));
    // And the race was real: both gateways polled, at the same moments.
    const byGateway = (g: string) => log.calls.filter((c) => c.gateway === g).length;
    expect(byGateway('A')).toBeGreaterThan(0);
    expect(byGateway('B')).toBeGreaterThan(0);
    expect(byGateway('A') + byGateway('B')).toBe(TASKS * ROUNDS);
    expect(log.bothAtOnce).toBe(true);
  }, 90_000);
});
