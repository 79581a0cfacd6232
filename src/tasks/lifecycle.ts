import type { Db, Tx } from '../db/client.ts';
import { enqueueWebhook } from '../events/webhook-outbox.ts';
import type { Task } from '../generated/prisma/client.ts';
import { voidHold } from '../ledger/holds.ts';
import { reverse } from '../ledger/reversals.ts';
import { taskPayload, webhookEventType } from './payload.ts';
import { releaseSlot } from './store.ts';

// Every status change of a task is one transaction that starts with a
// conditional update on the task's status: whoever moves the task first wins,
// everyone else (a second callback, another process's poll, recovery) sees
// zero rows and does nothing. That is what makes charges and refunds
// exactly-once. Within a transaction the tenant's balance row is updated
// last, so its lock is held for as short a time as possible. Acceptance, the
// hot path, is a single statement of its own (accept.ts).

/** Upstream refused the task (or could not be reached): release the hold, nothing is charged. */
export async function rejectTask(
  db: Db,
  task: Task,
  errorMessage: string,
  options: { notify?: boolean } = {},
): Promise<Task | null> {
  return db.$transaction(async (tx) => {
    const moved = await tx.task.updateMany({
      where: { id: task.id, status: 'SUBMITTING' },
      // The key is released so that a retry with it may try again.
      data: { status: 'FAILED', errorMessage, creditsCharged: 0, completedAt: new Date(), idempotencyKey: null },
    });
    if (moved.count === 0) return null;
    await voidHold(tx, task.holdId!);
    await releaseSlot(tx, task.tenantId);
    const ended = await tx.task.findUniqueOrThrow({ where: { id: task.id } });
    if (options.notify) await enqueueTaskWebhook(tx, ended);
    return ended;
  });
}

export type Outcome =
  | { status: 'SUCCESS'; resultUrls: string[]; consumedCredits: number }
  | { status: 'FAILED'; errorMessage: string };

/**
 * Ends an IN_PROGRESS task. FAILED reverses the tenant's charge (REFUND) and
 * the mirrored upstream charge (UPSTREAM_REFUND). Returns null when the task
 * had already ended: the caller lost the race and must do nothing else.
 */
export async function settleTask(db: Db, task: Task, outcome: Outcome): Promise<Task | null> {
  return db.$transaction(async (tx) => {
    const completedAt = new Date();
    const moved = await tx.task.updateMany({
      where: { id: task.id, status: 'IN_PROGRESS' },
      data:
        outcome.status === 'SUCCESS'
          ? { status: 'SUCCESS', resultUrls: outcome.resultUrls, upstreamCredits: outcome.consumedCredits, completedAt, nextPollAt: null, leaseUntil: null }
          : { status: 'FAILED', errorMessage: outcome.errorMessage, refunded: true, upstreamCredits: 0, completedAt, nextPollAt: null, leaseUntil: null },
    });
    if (moved.count === 0) return null;
    if (outcome.status === 'FAILED') {
      if (task.upstreamChargeId) await reverse(tx, task.upstreamChargeId, { kind: 'UPSTREAM_REFUND', note: 'upstream refunded a failed task' });
      if (task.chargeId) await reverse(tx, task.chargeId, { kind: 'REFUND', note: `refund: ${outcome.errorMessage}`.slice(0, 500) });
    }
    await releaseSlot(tx, task.tenantId);
    const ended = await tx.task.findUniqueOrThrow({ where: { id: task.id } });
    await enqueueTaskWebhook(tx, ended);
    return ended;
  });
}

/**
 * A SUBMITTING task whose process died (or hung) before upstream answered:
 * release the hold and fail it. Upstream may or may not have created the
 * task; if it did, that task is an orphan that the tenant is not billed for.
 */
export async function abandonSubmission(db: Db, task: Task): Promise<Task | null> {
  return rejectTask(
    db,
    task,
    'Submission interrupted before upstream confirmed it; nothing was charged. Please retry.',
    // The client may never have seen an answer: tell its webhook.
    { notify: true },
  );
}

async function enqueueTaskWebhook(tx: Tx, task: Task): Promise<void> {
  if (!task.callbackUrl) return;
  await enqueueWebhook(tx, {
    tenantId: task.tenantId,
    taskId: task.id,
    url: task.callbackUrl,
    eventType: webhookEventType(task),
    payload: { type: webhookEventType(task), timestamp: new Date().toISOString(), data: taskPayload(task) },
  });
}
