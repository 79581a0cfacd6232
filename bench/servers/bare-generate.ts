// The same work as the gateway's generations and settlements, bare: node:http,
// pg and undici, no GraphQL. What any server must do for an accepted
// textToImage (bench/generate.ts), and nothing else:
//   1. read and parse the JSON body; find the caller by the SHA-256 of its
//      bearer key, cached for AUTH_CACHE_TTL_MS as the gateway's authenticator
//      caches it (src/auth/authenticator.ts);
//   2. the submitting statement: the idempotency claim, the task row, the
//      hold and the in-flight slot, the key's credit limit, the guards and the
//      NOTIFY (src/tasks/statements.ts, submitStatement);
//   3. the upstream POST /generate, through an undici Pool of
//      UPSTREAM_CONNECTIONS connections, with the gateway's body (model,
//      input, callback_url, public);
//   4. the accepting statement: IN_PROGRESS, the hold posted as the tenant's
//      CHARGE and upstream's cost mirrored (acceptStatement);
//   5. the answer, in the gateway's shape.
// The statements are the gateway's own: built by its builders, wrapped in the
// final SELECT exactly as src/tasks/lifecycle.ts's `run` wraps them (guards,
// then the announcement column), and run as named prepared statements, one
// name per text, as the gateway's pool runs every statement (src/db/client.ts).
// So the ledger rows it writes are real: holds, transfers and entries that
// `verifyLedger` checks like the gateway's.
//
// Settlements: a poller of its own, the gateway's poller path bare
// (src/tasks/poller.ts → follow.ts → lifecycle.ts): every
// TASK_POLL_INTERVAL_MS it leases up to TASK_POLL_BATCH due tasks with the
// gateway's claim statement (src/tasks/store.ts, claimDueTasks, which
// returns the rows), then for each, concurrently, GET /status upstream and the
// settling statement (succeedStatement, or failStatement for a failure, with
// the webhook the lifecycle would write), looping while batches are full.
//
// Routes: POST /textToImage and /textToVideo (body `{"variables": {"p": <prompt>}}`),
// and POST /upstream/callback/… answered 200 unread: the benchmark points
// upstream's completion callbacks here (its own and the gateway's), so that
// only the pollers settle tasks. Prints its URL as one JSON line on stdout.
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { Pool } from 'undici';
import { CATALOG, pollDelayMs, type GenerationModel } from '../../src/catalog.ts';
import { eventsArray, notifyAnnouncer } from '../../src/db/announce.ts';
import { join, raw, ref, sql, withSteps, type Sql } from '../../src/db/sql.ts';
import type { Task } from '../../src/generated/prisma/client.ts';
import { outcomeOf } from '../../src/tasks/follow.ts';
import { TRANSITIONS, type Outcome } from '../../src/tasks/lifecycle.ts';
import { webhookEventType, webhookPayload } from '../../src/tasks/payload.ts';
import { requestHash, type GenerationRequest } from '../../src/tasks/requests.ts';
import {
  acceptStatement,
  failStatement,
  rejectStatement,
  submitStatement,
  succeedStatement,
  type Transition,
} from '../../src/tasks/statements.ts';
import { claimStatement, scheduleStatement } from '../../src/tasks/store.ts';
import { normaliseStatus } from '../../src/upstream/wire.ts';

const env = process.env;
const num = (name: string, fallback: number) => Number(env[name] ?? fallback);
const settings = {
  maxInFlight: num('TENANT_MAX_IN_FLIGHT', 50),
  pollInitialMs: env.TASK_POLL_INITIAL_MS ? Number(env.TASK_POLL_INITIAL_MS) : null,
  pollMaxMs: num('TASK_POLL_MAX_MS', 30_000),
  pollIntervalMs: num('TASK_POLL_INTERVAL_MS', 500),
  pollBatch: num('TASK_POLL_BATCH', 50),
  leaseMs: num('TASK_LEASE_MS', 30_000),
  authCacheTtlMs: num('AUTH_CACHE_TTL_MS', 5000),
};

const db = new pg.Pool({ connectionString: env.DATABASE_URL, max: num('DATABASE_POOL_SIZE', 10) });
const upstreamBase = new URL(env.UPSTREAM_URL!);
const upstreamPath = upstreamBase.pathname.replace(/\/+$/, '');
const upstream = new Pool(upstreamBase.origin, {
  connections: num('UPSTREAM_CONNECTIONS', 32),
  keepAliveTimeout: 4_000,
  keepAliveTimeoutThreshold: 1_000,
  pipelining: 1,
});
const upstreamHeaders = { authorization: `Bearer ${env.UPSTREAM_API_KEY}`, accept: 'application/json' };
let callbackBase = env.PUBLIC_URL ?? '';

/** One prepared statement per text, named as the gateway's pool names them. */
const names = new Map<string, string>();
function prepared(query: Sql): pg.QueryConfig {
  const text = query.text;
  let name = names.get(text);
  if (!name) {
    name = `gw_${createHash('sha1').update(text).digest('base64url')}`;
    names.set(text, name);
  }
  return { name, text, values: query.values as unknown[] };
}

/** src/tasks/lifecycle.ts's `run`: the transition's steps, its guards and its announcement in one statement. */
async function run(t: Transition): Promise<Task | null> {
  const columns = [
    ...t.guards.map((guard, i) => sql`${guard} AS ${raw(`_guard${i}`)}`),
    sql`${notifyAnnouncer.column(eventsArray(t.events))} AS _announced`,
  ];
  const { rows } = await db.query<Record<string, unknown>>(
    prepared(withSteps(t.steps, sql`SELECT t.*, ${join(columns, ', ')} FROM ${ref(t.task)} t`)),
  );
  const row = rows[0];
  if (!row) return null;
  for (const key of Object.keys(row)) if (key.startsWith('_')) delete row[key];
  return row as unknown as Task;
}

interface Caller {
  tenantId: string;
  keyId: string;
  expiresAt: number;
}
const callers = new Map<string, Caller>();

async function callerOf(req: IncomingMessage): Promise<Caller | null> {
  const token = /^Bearer\s+(\S+)$/.exec(req.headers.authorization ?? '')?.[1];
  if (!token) return null;
  const hash = createHash('sha256').update(token).digest('hex');
  const now = Date.now();
  const cached = callers.get(hash);
  if (cached && cached.expiresAt > now) return cached;
  const { rows } = await db.query({
    name: 'bare_key',
    text: `SELECT id, tenant_id, scopes::text[] AS scopes FROM api_key
           WHERE hash = $1 AND role = 'TENANT' AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`,
    values: [hash],
  });
  const key = rows[0] as { id: string; tenant_id: string; scopes: string[] } | undefined;
  if (!key?.scopes.includes('GENERATE')) return null;
  const caller = { tenantId: key.tenant_id, keyId: key.id, expiresAt: now + settings.authCacheTtlMs };
  callers.set(hash, caller);
  return caller;
}

async function generate(caller: Caller, model: GenerationModel, prompt: string): Promise<Task> {
  const request: GenerationRequest = { model, prompt, imageUrls: [], sourceTaskId: null, callbackUrl: null, public: false, idempotencyKey: null };
  const task = await run(
    submitStatement({
      id: randomUUID(),
      tenantId: caller.tenantId,
      keyId: caller.keyId,
      origin: 'GRAPHQL',
      request,
      requestHash: requestHash(request),
      holdId: randomUUID(),
      maxInFlight: settings.maxInFlight,
    }),
  );
  // No key, so nothing to replay: no row means a refusal, which the guards raise as errors.
  if (!task) throw new Error('submission claimed nothing');
  let upstreamTaskId: string;
  try {
    const res = await upstream.request({
      method: 'POST',
      path: `${upstreamPath}/generate`,
      headers: { ...upstreamHeaders, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: CATALOG[model].upstreamName,
        input: { prompt },
        callback_url: `${callbackBase}/upstream/callback/${task.id}/${task.callbackToken}`,
        public: task.public,
      }),
    });
    const body = (await res.body.json()) as { code?: number; data?: { task_id?: string } };
    if (res.statusCode !== 200 || body.code !== 200 || !body.data?.task_id) throw new Error(`upstream answered ${res.statusCode}: ${JSON.stringify(body)}`);
    upstreamTaskId = body.data.task_id;
  } catch (error) {
    await run(rejectStatement(task, { from: TRANSITIONS.reject.from, to: 'FAILED' }, new Date(), String(error), null));
    throw error;
  }
  const firstPoll = new Date(Date.now() + pollDelayMs(model, 0, { initialMs: settings.pollInitialMs, maxMs: settings.pollMaxMs }));
  const accepted = await run(
    acceptStatement(task, { from: TRANSITIONS.accept.from, to: 'IN_PROGRESS' }, new Date(), {
      upstreamTaskId,
      firstPollAt: firstPoll,
      chargeId: randomUUID(),
      mirrorId: randomUUID(),
    }),
  );
  if (!accepted) throw new Error('task no longer SUBMITTING');
  return accepted;
}

// The poller's statements are src/tasks/store.ts's own (claimStatement,
// scheduleStatement): the claim leases the due tasks and returns their rows whole.
async function claimDueTasks(): Promise<Task[]> {
  const { rows } = await db.query<Task>(prepared(claimStatement({ limit: settings.pollBatch, leaseMs: settings.leaseMs })));
  return rows;
}

interface StatusBody {
  code?: number;
  data?: {
    status: string;
    request?: Record<string, unknown> | null;
    response?: { resultUrls?: string[] } | null;
    consumed_credits?: number;
    error_message?: string | null;
    created_at?: string;
  };
}

/** follow.ts's pollTask: the /status read, then settle (or poll again later). */
async function pollTask(task: Task): Promise<void> {
  const res = await upstream.request({
    method: 'GET',
    path: `${upstreamPath}/status?task_id=${encodeURIComponent(task.upstreamTaskId!)}`,
    headers: upstreamHeaders,
  });
  const body = (await res.body.json()) as StatusBody;
  if (res.statusCode !== 200 || !body.data) throw new Error(`upstream /status answered ${res.statusCode}`);
  const d = body.data;
  const status = normaliseStatus(d.status).status;
  const outcome = outcomeOf({
    taskId: task.upstreamTaskId!,
    status,
    rawStatus: d.status,
    request: d.request ?? null,
    resultUrls: status === 'SUCCESS' ? (d.response?.resultUrls ?? []) : [],
    consumedCredits: d.consumed_credits ?? 0,
    errorMessage: d.error_message ?? null,
    createdAt: d.created_at ?? '',
  });
  if (!outcome) {
    const delay = pollDelayMs(task.model, task.pollAttempts + 1, { initialMs: settings.pollInitialMs, maxMs: settings.pollMaxMs });
    await db.query(prepared(scheduleStatement(task.id, delay, true)));
    return;
  }
  await settle(task, outcome);
}

/** lifecycle.ts's settle: the statement, with the webhook the lifecycle writes for the ended task. */
function settle(task: Task, outcome: Outcome): Promise<Task | null> {
  const at = new Date();
  const ended = { completedAt: at, updatedAt: at, nextPollAt: null, leaseUntil: null };
  const move = { from: TRANSITIONS.settle.from, to: outcome.status };
  const webhook = (done: Task) => {
    const type = webhookEventType(done);
    return { tenantId: done.tenantId, taskId: done.id, callbackUrl: done.callbackUrl, eventType: type, payload: webhookPayload(done, type, at) };
  };
  if (outcome.status === 'SUCCESS') {
    const done: Task = { ...task, ...ended, status: 'SUCCESS', resultUrls: outcome.resultUrls, upstreamCredits: outcome.consumedCredits };
    return run(succeedStatement(task, move, at, outcome, webhook(done)));
  }
  const done: Task = { ...task, ...ended, status: 'FAILED', errorMessage: outcome.errorMessage, refunded: true, upstreamCredits: 0 };
  return run(
    failStatement(task, move, at, { errorMessage: outcome.errorMessage, refundId: randomUUID(), mirrorRefundId: randomUUID() }, webhook(done)),
  );
}

let polling: NodeJS.Timeout | undefined;
let stopping = false;
function schedulePolls(): void {
  if (stopping) return;
  polling = setTimeout(() => {
    void (async () => {
      try {
        for (;;) {
          const due = await claimDueTasks();
          await Promise.all(due.map((task) => pollTask(task).catch((error: unknown) => process.stderr.write(`poll ${task.id} failed: ${String(error)}\n`))));
          if (due.length < settings.pollBatch) break;
        }
      } catch (error) {
        process.stderr.write(`poller tick failed: ${String(error)}\n`);
      }
      schedulePolls();
    })();
  }, settings.pollIntervalMs);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const globalId = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString('base64');
const ROUTES: Record<string, { model: GenerationModel; field: string; success: string }> = {
  '/textToImage': { model: 'TEXT_TO_IMAGE', field: 'textToImage', success: 'MutationTextToImageSuccess' },
  '/textToVideo': { model: 'TEXT_TO_VIDEO', field: 'textToVideo', success: 'MutationTextToVideoSuccess' },
};

const server = createServer((req, res) => {
  const url = req.url ?? '';
  if (url.startsWith('/upstream/callback/')) {
    req.resume();
    return send(res, 200, { ok: true });
  }
  const route = ROUTES[url];
  if (!route) {
    req.resume();
    return send(res, 404, { errors: [{ message: 'Not found' }] });
  }
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    void (async () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { variables?: { p?: unknown } };
        const prompt = body.variables?.p;
        if (typeof prompt !== 'string' || prompt.trim() === '') return send(res, 200, { errors: [{ message: 'prompt: must not be empty' }] });
        const caller = await callerOf(req);
        if (!caller) return send(res, 401, { errors: [{ message: 'Invalid or revoked API key' }] });
        const task = await generate(caller, route.model, prompt);
        send(res, 200, { data: { [route.field]: { __typename: route.success, data: { id: globalId('Task', task.id), status: task.status } } } });
      } catch (error) {
        send(res, 500, { errors: [{ message: String(error) }] });
      }
    })();
  });
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  callbackBase ||= `http://127.0.0.1:${port}`;
  schedulePolls();
  console.log(JSON.stringify({ url: `http://127.0.0.1:${port}/graphql` }));
});
process.on('SIGTERM', () => {
  stopping = true;
  clearTimeout(polling);
  server.close();
  server.closeAllConnections();
  void Promise.all([db.end(), upstream.close()]).then(() => process.exit(0));
});
