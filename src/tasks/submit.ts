// The generation flow (README, "How a generation is billed"): replay an
// idempotent retry, take a rate-limit token, submit (task claimed and price
// held in one statement), call upstream, then accept (charged) or reject
// (released). Every status change goes through the lifecycle, which
// announces it; nothing here publishes.
import { CATALOG, pollDelayMs } from '../catalog.ts';
import { isTransient } from '../db/errors.ts';
import {
  IdempotencyConflictError,
  NotFoundError,
  RateLimitedError,
  SourceNotReadyError,
  UpstreamUnavailableError,
  ValidationError,
} from '../errors.ts';
import type { Task } from '../generated/prisma/client.ts';
import { assertPublicUrl } from '../net/ssrf.ts';
import {
  UpstreamAuthError,
  UpstreamCreditsError,
  UpstreamRateLimitError,
  UpstreamRejectedError,
  isUpstreamError,
} from '../upstream/errors.ts';
import type { TaskDeps } from './deps.ts';
import * as lifecycle from './lifecycle.ts';
import { takeGenerationToken } from './rate-limit.ts';
import { countAccepted, countRejected } from './task-metrics.ts';
import type { TaskOrigin } from '../generated/prisma/enums.ts';
import { requestHash, type GenerationRequest } from './requests.ts';
import { upstreamInput } from './upstream-input.ts';

/** How long an accepted task's charge is retried on transient database errors before it is given up as an orphan. */
const ACCEPT_RETRY_MS = 10_000;

/** Returns the task: IN_PROGRESS when new, as it is now when replayed. */
/** Who asks for a generation: the tenant, and the key whose credit limit it counts against (null: none). */
export interface Caller {
  tenantId: string;
  keyId: string | null;
  /** Which API asks (default GRAPHQL): the task records it (its webhook body's shape), and a REST request's digest includes it. */
  origin?: TaskOrigin;
}

export async function submitGeneration(deps: TaskDeps, caller: Caller, request: GenerationRequest): Promise<Task> {
  const key = request.idempotencyKey;
  if (!key) return submitOnce(deps, caller, request);
  for (;;) {
    // Behind an identical request in flight, this one waits and then replays it.
    const result = await deps.idempotentRequests.run(`${caller.tenantId}:${key}`, () => submitOnce(deps, caller, request));
    if (result.ran) return result.value;
  }
}

async function submitOnce(deps: TaskDeps, caller: Caller, request: GenerationRequest): Promise<Task> {
  const { tenantId, keyId } = caller;
  const hash = requestHash(request, caller.origin);
  // A replay is answered before anything else, and takes no rate-limit token.
  const earlier = await findReplay(deps, tenantId, request.idempotencyKey, hash);
  if (earlier) return earlier;
  // An open breaker refuses at once: no token, nothing held, no upstream call.
  deps.health.admit();
  await takeGenerationToken(deps.generations, tenantId);
  if (request.callbackUrl) await assertPublicUrl(request.callbackUrl, 'callbackUrl', deps.ssrfPolicy);
  const source = request.sourceTaskId ? await resolveSource(deps, tenantId, request) : null;

  // A racing retry with the same key may claim it first: then this one is a
  // replay after all (its token goes back). If that task was rejected in the
  // meantime its key was released, and this request claims it anew.
  for (let attempt = 1; ; attempt++) {
    const task = await lifecycle.submit(deps.store, {
      tenantId,
      keyId,
      origin: caller.origin ?? 'GRAPHQL',
      request,
      requestHash: hash,
      maxInFlight: deps.settings.maxInFlight,
    });
    if (task) return forward(deps, task, source?.upstreamTaskId ?? null);
    const winner = await findReplay(deps, tenantId, request.idempotencyKey, hash);
    if (winner) {
      deps.generations.giveBack(tenantId);
      return winner;
    }
    if (attempt >= 3) throw new Error('idempotency key claimed but its task vanished three times');
  }
}

async function findReplay(deps: TaskDeps, tenantId: string, key: string | null, hash: string): Promise<Task | null> {
  if (!key) return null;
  const existing = await deps.store.db.task.findUnique({ where: { tenantId_idempotencyKey: { tenantId, idempotencyKey: key } } });
  if (!existing) return null;
  if (existing.requestHash !== hash) {
    throw new IdempotencyConflictError('This idempotencyKey was already used for a different generation request');
  }
  return existing;
}

/** The tenant's own successful task, whatever id was given: nothing else is reachable. */
async function resolveSource(deps: TaskDeps, tenantId: string, request: GenerationRequest): Promise<Task> {
  const db = deps.store.db;
  const source = await db.task.findFirst({ where: { id: request.sourceTaskId!, tenantId } });
  if (!source) throw new NotFoundError('Source task not found');
  if (source.status !== 'SUCCESS' || !source.upstreamTaskId) {
    throw new SourceNotReadyError(`The source task is ${source.status}; it must have succeeded`);
  }
  if (CATALOG[request.model].sourceMustBeImage && (await resultKind(deps, source)) !== 'image') {
    throw new ValidationError('sourceTaskId must be a task whose result is an image', 'sourceTaskId');
  }
  return source;
}

/** Whether a task's result is an image or a video, following upscales back to what they upscaled. */
async function resultKind(deps: TaskDeps, task: Task): Promise<'image' | 'video' | null> {
  let current: Task | null = task;
  for (let depth = 0; current && depth < 20; depth++) {
    const result = CATALOG[current.model].result;
    if (result !== 'source') return result;
    if (!current.sourceTaskId) return null;
    current = await deps.store.db.task.findUnique({ where: { id: current.sourceTaskId } });
  }
  return null;
}

async function forward(deps: TaskDeps, task: Task, sourceUpstreamId: string | null): Promise<Task> {
  const callbackUrl = `${deps.callbackBaseUrl()}/upstream/callback/${task.id}/${task.callbackToken}`;
  let upstreamTaskId: string;
  try {
    const result = await deps.upstream.generate(CATALOG[task.model].upstreamName, upstreamInput(task, sourceUpstreamId), {
      callbackUrl,
      public: task.public,
    });
    upstreamTaskId = result.taskId;
  } catch (error) {
    await deps.health.failed(error);
    const failure = toGatewayError(deps, error);
    const rejected = await lifecycle.reject(deps.store, task, failure.message);
    if (rejected) countRejected(deps.metrics, rejected);
    throw failure;
  }
  await deps.health.succeeded('generate');
  const { pollInitialMs, pollMaxMs } = deps.settings;
  const firstPoll = new Date(Date.now() + pollDelayMs(task.model, 0, { initialMs: pollInitialMs, maxMs: pollMaxMs }));
  const accepted = await acceptWithRetry(deps, task, upstreamTaskId, firstPoll);
  if (!accepted) {
    // Recovery abandoned the task while upstream was still answering: only
    // possible when TASK_SUBMIT_TIMEOUT_MS is shorter than a generate call.
    deps.logger.error({ taskId: task.id, upstreamTaskId }, 'orphan upstream task: accepted after the submission was abandoned');
    throw new UpstreamUnavailableError('Upstream answered too late; nothing was charged. Please retry.');
  }
  countAccepted(deps.metrics, accepted);
  return accepted;
}

/**
 * Upstream has charged us: the tenant must be charged too. A transient
 * database failure (a lost connection, a restart) is retried for a while;
 * only then is the task left SUBMITTING, for recovery, as an orphan.
 */
async function acceptWithRetry(deps: TaskDeps, task: Task, upstreamTaskId: string, firstPoll: Date): Promise<Task | null> {
  // Never past the moment recovery may take the task for abandoned.
  const deadline = Math.min(Date.now() + ACCEPT_RETRY_MS, task.createdAt.getTime() + deps.settings.submitTimeoutMs - 1000);
  for (let attempt = 1; ; attempt++) {
    try {
      return await lifecycle.accept(deps.store, task, upstreamTaskId, firstPoll);
    } catch (error) {
      if (!isTransient(error) || Date.now() >= deadline) {
        deps.logger.error({ err: error, taskId: task.id, upstreamTaskId }, 'upstream accepted a task that could not be charged');
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * 2 ** attempt)));
    }
  }
}

/** Maps an upstream failure to what the tenant is told; logs what admins must act on. */
function toGatewayError(deps: TaskDeps, error: unknown): Error {
  if (!isUpstreamError(error)) {
    deps.logger.error({ err: error }, 'generate failed unexpectedly');
    return new UpstreamUnavailableError('Upstream request failed unexpectedly; nothing was charged');
  }
  if (error instanceof UpstreamRejectedError) {
    return new ValidationError(`Upstream rejected the request: ${error.upstreamMessage}`);
  }
  if (error instanceof UpstreamRateLimitError) {
    const wait = error.retryAfterSeconds ?? 1;
    return new RateLimitedError(`Upstream is rate limiting requests; retry in ${wait} s`, wait);
  }
  if (error instanceof UpstreamCreditsError) {
    deps.logger.error({ err: error }, 'UPSTREAM ACCOUNT OUT OF CREDITS: top up the reseller account');
    return new UpstreamUnavailableError('Upstream unavailable: the reseller account is out of upstream credits; nothing was charged');
  }
  if (error instanceof UpstreamAuthError) {
    deps.logger.fatal({ err: error }, 'UPSTREAM REJECTED OUR API KEY: check UPSTREAM_API_KEY');
    return new UpstreamUnavailableError('Upstream unavailable: the gateway is misconfigured; nothing was charged');
  }
  deps.logger.warn({ err: error, mayHaveReachedUpstream: error.mayHaveReachedUpstream }, 'generate failed after retries');
  return new UpstreamUnavailableError(
    `Upstream unavailable (${error.kind === 'protocol' ? 'malformed response' : 'server errors or timeouts'} after retries); nothing was charged` +
      (error.mayHaveReachedUpstream ? '. Upstream may have started the task anyway; it is not billed to you' : ''),
  );
}
