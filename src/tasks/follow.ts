import { pollDelayMs } from '../catalog.ts';
import type { Task } from '../generated/prisma/client.ts';
import { UpstreamRateLimitError } from '../upstream/errors.ts';
import type { UpstreamTaskRecord } from '../upstream/wire.ts';
import type { TaskDeps } from './deps.ts';
import { expire, settle, type Outcome } from './lifecycle.ts';
import { schedulePoll } from './store.ts';
import { countEnded } from './task-metrics.ts';

/**
 * What an upstream record means for our task. FAILED, or consumed_credits
 * dropping to 0 (upstream refunded it), ends it with a refund; SUCCESS ends it
 * with results; anything else (IN_PROGRESS, unknown values) means wait.
 */
export function outcomeOf(record: UpstreamTaskRecord): Outcome | null {
  if (record.status === 'FAILED') {
    return { status: 'FAILED', errorMessage: record.errorMessage ?? 'Upstream reported the task as failed' };
  }
  if (record.status === 'SUCCESS') {
    if (record.consumedCredits === 0) {
      return { status: 'FAILED', errorMessage: record.errorMessage ?? 'Upstream refunded the task' };
    }
    return { status: 'SUCCESS', resultUrls: record.resultUrls, consumedCredits: record.consumedCredits };
  }
  return null;
}

/**
 * Polls one leased task and acts on the answer: settle it, or schedule the
 * next poll (after Retry-After on 429, with backoff otherwise). Past the
 * deadline, the task ends as FAILED and refunded (README, "Deadlines").
 */
export async function pollTask(deps: TaskDeps, task: Task): Promise<void> {
  const { settings } = deps;
  const db = deps.store.db;
  if (task.submittedAt && Date.now() - task.submittedAt.getTime() > settings.deadlineMs) {
    const expired = await expire(deps.store, task, settings.deadlineMs);
    if (expired) countEnded(deps.metrics, expired);
    return;
  }
  const backoff = () =>
    pollDelayMs(task.model, task.pollAttempts + 1, { initialMs: settings.pollInitialMs, maxMs: settings.pollMaxMs });
  let record: UpstreamTaskRecord;
  try {
    record = await deps.upstream.status(task.upstreamTaskId!);
  } catch (error) {
    await deps.health.failed(error);
    const delay = error instanceof UpstreamRateLimitError ? Math.max(1000, (error.retryAfterSeconds ?? 1) * 1000) : backoff();
    deps.logger.warn({ err: error, taskId: task.id, delayMs: delay }, 'status poll failed; will retry');
    await schedulePoll(db, task.id, delay, true);
    return;
  }
  await deps.health.succeeded('status');
  if (record.status === 'IN_PROGRESS' && record.rawStatus !== 'IN_PROGRESS') {
    deps.logger.warn({ taskId: task.id, rawStatus: record.rawStatus }, 'unknown upstream status; treating as in progress');
  }
  const outcome = outcomeOf(record);
  if (!outcome) {
    await schedulePoll(db, task.id, backoff(), true);
    return;
  }
  // Null when another callback, poll or process settled it first: nothing more to do.
  const ended = await settle(deps.store, task, outcome);
  if (ended) countEnded(deps.metrics, ended);
}
