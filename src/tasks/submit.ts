import { isUniqueViolation } from '../db/errors.ts';
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
import { acceptTask } from './accept.ts';
import { rejectTask } from './lifecycle.ts';
import { pollDelayMs, UPSTREAM_MODEL } from './models.ts';
import { requestHash, type GenerationRequest } from './requests.ts';
import { upstreamInput } from './upstream-input.ts';
import { insertSubmittingTask } from './store.ts';

/**
 * The generation flow (README, "How a generation is billed"): validate,
 * reserve and record SUBMITTING in one statement, call upstream, then charge
 * (accepted) or release (rejected). Returns the task, IN_PROGRESS.
 */
export async function submitGeneration(deps: TaskDeps, tenantId: string, request: GenerationRequest): Promise<Task> {
  const { db } = deps;
  const hash = requestHash(request);
  if (request.idempotencyKey) {
    const replay = await findReplay(deps, tenantId, request.idempotencyKey, hash);
    if (replay) return replay;
  }
  deps.rateLimiter.take(tenantId);
  if (request.callbackUrl) await assertPublicUrl(request.callbackUrl, 'callbackUrl', deps.ssrfPolicy);
  const source = request.sourceTaskId ? await resolveSource(deps, tenantId, request) : null;

  let task: Task;
  try {
    task = await insertSubmittingTask(db, {
      tenantId,
      request,
      requestHash: hash,
      maxInFlight: deps.settings.maxInFlight,
    });
  } catch (error) {
    // A concurrent request with the same key got there first.
    if (request.idempotencyKey && isUniqueViolation(error)) {
      const replay = await findReplay(deps, tenantId, request.idempotencyKey, hash);
      if (replay) return replay;
    }
    throw error;
  }
  deps.bus.taskChanged(task);
  deps.bus.balanceChanged(tenantId);
  return forward(deps, task, source?.upstreamTaskId ?? null);
}

async function findReplay(deps: TaskDeps, tenantId: string, key: string, hash: string): Promise<Task | null> {
  const existing = await deps.db.task.findUnique({ where: { tenantId_idempotencyKey: { tenantId, idempotencyKey: key } } });
  if (!existing) return null;
  if (existing.requestHash !== hash) {
    throw new IdempotencyConflictError('This idempotencyKey was already used for a different generation request');
  }
  return existing;
}

/** The tenant's own successful task, whatever id was given: nothing else is reachable. */
async function resolveSource(deps: TaskDeps, tenantId: string, request: GenerationRequest): Promise<Task> {
  const source = await deps.db.task.findFirst({ where: { id: request.sourceTaskId!, tenantId } });
  if (!source) throw new NotFoundError('Source task not found');
  if (source.status !== 'SUCCESS' || !source.upstreamTaskId) {
    throw new SourceNotReadyError(`The source task is ${source.status}; it must have succeeded`);
  }
  if (request.model === 'IMAGE_TO_VIDEO' && !(await producesImage(deps, source))) {
    throw new ValidationError('sourceTaskId must be a task whose result is an image', 'sourceTaskId');
  }
  return source;
}

async function producesImage(deps: TaskDeps, task: Task): Promise<boolean> {
  let current: Task | null = task;
  for (let depth = 0; current && depth < 20; depth++) {
    if (current.model === 'TEXT_TO_IMAGE') return true;
    if (current.model !== 'UPSCALE' || !current.sourceTaskId) return false;
    current = await deps.db.task.findUnique({ where: { id: current.sourceTaskId } });
  }
  return false;
}

async function forward(deps: TaskDeps, task: Task, sourceUpstreamId: string | null): Promise<Task> {
  const callbackUrl = `${deps.callbackBaseUrl()}/upstream/callback/${task.id}/${task.callbackToken}`;
  let upstreamTaskId: string;
  try {
    const result = await deps.upstream.generate(UPSTREAM_MODEL[task.model], upstreamInput(task, sourceUpstreamId), {
      callbackUrl,
      public: task.public,
    });
    upstreamTaskId = result.taskId;
  } catch (error) {
    const failure = toGatewayError(deps, error);
    const rejected = await rejectTask(deps.db, task, failure.message);
    if (rejected) {
      deps.bus.taskChanged(rejected);
      deps.bus.balanceChanged(task.tenantId);
    }
    throw failure;
  }
  const firstPoll = new Date(Date.now() + pollDelayMs(task.model, 0, { initialMs: deps.settings.pollInitialMs, maxMs: deps.settings.pollMaxMs }));
  const accepted = await acceptTask(deps.db, task, upstreamTaskId, firstPoll);
  if (!accepted) {
    // Recovery abandoned the task while upstream was still answering: only
    // possible when TASK_SUBMIT_TIMEOUT_MS is shorter than a generate call.
    deps.logger.error({ taskId: task.id, upstreamTaskId }, 'orphan upstream task: accepted after the submission was abandoned');
    throw new UpstreamUnavailableError('Upstream answered too late; nothing was charged. Please retry.');
  }
  deps.bus.taskChanged(accepted);
  deps.bus.balanceChanged(task.tenantId);
  return accepted;
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
