// The task table's steps, and the one statement of each transition: the task
// step first, then the ledger's steps (ledger/*-steps.ts), then the outbox and
// the announcement of what changed. lifecycle.ts runs them.
import { randomBytes } from 'node:crypto';
import { CATALOG } from '../catalog.ts';
import { MAX_NOTIFY_BYTES } from '../db/announce.ts';
import { empty, raw, ref, sql, step, type Sql, type Step } from '../db/sql.ts';
import { endpointOutboxStep, outboxStep, webhooksEvent, type OutboxInput } from '../events/webhook-outbox.ts';
import type { Task, TaskOrigin, TaskStatus } from '../generated/prisma/client.ts';
import { SYSTEM_ACCOUNTS } from '../ledger/accounts.ts';
import { priceStep } from '../ledger/pricing.ts';
import { postHoldSteps, reserveSteps, voidHoldSteps } from '../ledger/hold-steps.ts';
import { balanceEvent, exists, ledgerRequire } from '../ledger/steps.ts';
import { refundSteps, releaseSlotStep, reverseSystemSteps, systemTransferSteps } from '../ledger/transfer-steps.ts';
import { countLimitStep, giveBackLimitStep, limitCounted, limitOfKey } from './key-limits.ts';
import type { GenerationRequest } from './requests.ts';

/**
 * A RETURNING list that yields rows shaped exactly like Prisma's `Task`, so
 * a statement hands back the task it wrote without a second query. Keep in
 * step with prisma/schema.prisma (the lifecycle tests compare the two).
 */
export const TASK_RETURNING = raw(`
  id, tenant_id AS "tenantId", model::text AS model, status::text AS status, prompt, COALESCE(image_urls, '{}') AS "imageUrls",
  source_task_id AS "sourceTaskId", callback_url AS "callbackUrl", public, idempotency_key AS "idempotencyKey",
  request_hash AS "requestHash", callback_token AS "callbackToken", upstream_task_id AS "upstreamTaskId",
  hold_id AS "holdId", charge_id AS "chargeId", upstream_charge_id AS "upstreamChargeId",
  credits_charged AS "creditsCharged", upstream_credits AS "upstreamCredits", refunded, COALESCE(result_urls, '{}') AS "resultUrls",
  error_message AS "errorMessage", created_at AS "createdAt", updated_at AS "updatedAt",
  submitted_at AS "submittedAt", completed_at AS "completedAt", next_poll_at AS "nextPollAt",
  poll_attempts AS "pollAttempts", lease_until AS "leaseUntil", credit_limit_id AS "creditLimitId",
  origin::text AS origin`);

/** A transition's statement: its steps, the task step, the guards and the events of its final SELECT. */
export interface Transition {
  steps: Step[];
  task: Step;
  guards: Sql[];
  events: Sql[];
}

/**
 * The task as it changed, for every process's live subscribers
 * (events/live.ts): the row without its two large columns (prompt and image
 * URLs never change, so listeners keep them from an earlier read). If even
 * that would overflow a NOTIFY payload, only id, tenant and status go,
 * marked partial, and listeners read the row.
 */
function taskEvent(task: Step): Sql {
  return sql`(SELECT CASE WHEN octet_length(e.snapshot::text) <= ${MAX_NOTIFY_BYTES - 500}
                  THEN jsonb_build_object('type', 'task', 'task', e.snapshot)
                  ELSE jsonb_build_object('type', 'task', 'partial', true,
                         'task', jsonb_build_object('id', t.id, 'tenantId', t."tenantId", 'status', t.status)) END
              FROM ${ref(task)} t,
                   LATERAL (SELECT to_jsonb(t) - ARRAY['prompt', 'imageUrls'] AS snapshot) e)`;
}

/** A transition of the lifecycle's table (lifecycle.ts): the status a task must have, and the one it gets. */
export interface Move {
  from: TaskStatus;
  to: TaskStatus;
}

/** `UPDATE task SET status = to, … WHERE id = … AND status = from`: whoever moves the task first wins; everyone else moves nothing. */
function moveTask(taskId: string, move: Move, at: Date, set: Sql): Step {
  return step(
    'task_row',
    sql`UPDATE task SET status = ${move.to}::"TaskStatus", ${set}, updated_at = ${at}
        WHERE id = ${taskId}::uuid AND status = ${move.from}::"TaskStatus"
        RETURNING ${TASK_RETURNING}`,
  );
}

/** A task's webhook: to its callbackUrl if it has one, and to the tenant's endpoint if that wants the event. */
export type TaskWebhook = Omit<OutboxInput, 'url'> & { callbackUrl: string | null };

function outbox(task: Step, webhook: TaskWebhook | null): { steps: Step[]; events: Sql[] } {
  if (!webhook) return { steps: [], events: [] };
  const { callbackUrl, ...input } = webhook;
  const steps = [
    ...(callbackUrl ? [outboxStep('outbox', task, { ...input, url: callbackUrl })] : []),
    endpointOutboxStep('endpoint_outbox', task, input),
  ];
  return { steps, events: [webhooksEvent(...steps)] };
}

export interface NewTask {
  id: string;
  tenantId: string;
  /** The key that asked: its credit limit, if it has one, is counted (key-limits.ts). Null: none. */
  keyId: string | null;
  /** The API it was asked through. */
  origin: TaskOrigin;
  request: GenerationRequest;
  requestHash: string;
  holdId: string;
  maxInFlight: number;
}

/**
 * submit: claims the task (and its idempotency key) first, then holds the
 * tenant's price and takes an in-flight slot. A key already taken claims
 * nothing (ON CONFLICT DO NOTHING, after waiting for whoever holds it), so
 * the statement returns no row; a refused reservation aborts it whole.
 * Without a key there is nothing to conflict on, and a plain insert is cheaper.
 * A suspended tenant's submission aborts too (TENANT_SUSPENDED), in the same
 * statement, so a suspension that commits first is never raced past; so does
 * one that would take the key past its credit limit (KEY_LIMIT_EXCEEDED),
 * counted after the account row.
 */
export function submitStatement(t: NewTask): Transition {
  const r = t.request;
  const price = priceStep(t.tenantId, r.model);
  const task = step(
    'task_row',
    sql`INSERT INTO task (id, tenant_id, model, status, prompt, image_urls, result_urls, source_task_id, callback_url, public,
                          idempotency_key, request_hash, callback_token, hold_id, credits_charged, credit_limit_id, origin, created_at, updated_at)
        SELECT ${t.id}::uuid, ${t.tenantId}::uuid, ${r.model}::"GenerationModel", 'SUBMITTING', ${r.prompt},
               COALESCE(${r.imageUrls}::text[], '{}'), '{}', ${r.sourceTaskId}::uuid, ${r.callbackUrl}, ${r.public},
               ${r.idempotencyKey}, ${t.requestHash}, ${randomBytes(24).toString('base64url')}, ${t.holdId}::uuid, price.amount,
               ${limitOfKey(t.keyId)}, ${t.origin}::"TaskOrigin", now(), now()
        FROM ${ref(price)} price
        ${r.idempotencyKey === null ? empty : sql`ON CONFLICT (tenant_id, idempotency_key) DO NOTHING`}
        RETURNING ${TASK_RETURNING}`,
  );
  const hold = reserveSteps({
    tenantId: t.tenantId,
    amountFrom: price,
    after: [task],
    holdId: t.holdId,
    reference: `task:${t.id}`,
    slotLimit: t.maxInFlight,
  });
  const limit = countLimitStep(task, hold.account);
  return {
    steps: [price, task, ...hold.steps, limit],
    task,
    // A suspended tenant is refused first, whatever its balance; the abort
    // takes the task row and the hold with it.
    guards: [
      ledgerRequire(
        sql`NOT EXISTS (SELECT 1 FROM tenant WHERE id = ${t.tenantId}::uuid AND status = 'SUSPENDED')`,
        'TENANT_SUSPENDED',
      ),
      ledgerRequire(exists(hold.hold), 'RESERVATION_REFUSED'),
      ledgerRequire(limitCounted(task, limit), 'KEY_LIMIT_EXCEEDED'),
    ],
    events: [taskEvent(task), balanceEvent(hold.account)],
  };
}

/** accept: IN_PROGRESS; the hold posted as the tenant's CHARGE; upstream's cost mirrored (revenue → upstream spend). */
export function acceptStatement(
  task: Task,
  move: Move,
  at: Date,
  a: { upstreamTaskId: string; firstPollAt: Date; chargeId: string; mirrorId: string },
): Transition {
  const moved = moveTask(
    task.id,
    move,
    at,
    // An early callback (store.ts, keepEarlyCallback) left a poll due now: it stands.
    sql`upstream_task_id = ${a.upstreamTaskId}, submitted_at = ${at}, next_poll_at = LEAST(next_poll_at, ${a.firstPollAt}),
        charge_id = ${a.chargeId}::uuid, upstream_charge_id = ${a.mirrorId}::uuid`,
  );
  const charge = postHoldSteps({
    holdId: { step: moved, column: '"holdId"' },
    transferId: a.chargeId,
    kind: 'CHARGE',
    creditAccountId: SYSTEM_ACCOUNTS.REVENUE,
    note: `${task.model} task`,
  });
  const mirror = systemTransferSteps(
    {
      about: charge.hold,
      transferId: a.mirrorId,
      kind: 'UPSTREAM_CHARGE',
      amount: CATALOG[task.model].upstreamCost,
      debitAccountId: SYSTEM_ACCOUNTS.REVENUE,
      creditAccountId: SYSTEM_ACCOUNTS.UPSTREAM_SPEND,
      note: `upstream task ${a.upstreamTaskId}`,
    },
    'mirror',
  );
  return {
    steps: [moved, ...charge.steps, ...mirror.steps],
    task: moved,
    guards: [ledgerRequire(exists(charge.transfer), 'HOLD_NOT_PENDING')],
    events: [taskEvent(moved), balanceEvent(charge.account)],
  };
}

/** reject and recover: FAILED before upstream took it; the hold voided, the slot freed and the key's limit given back; nothing charged. */
export function rejectStatement(task: Task, move: Move, at: Date, errorMessage: string, webhook: TaskWebhook | null): Transition {
  // The key is released, so a retry with it may try again.
  const moved = moveTask(
    task.id,
    move,
    at,
    sql`error_message = ${errorMessage}, credits_charged = 0, completed_at = ${at}, idempotency_key = NULL`,
  );
  const released = voidHoldSteps({ holdId: { step: moved, column: '"holdId"' }, releaseSlot: true });
  const limit = giveBackLimitStep(moved, { step: released.hold, column: 'amount' }, released.account);
  const out = outbox(moved, webhook);
  return {
    steps: [moved, ...released.steps, limit, ...out.steps],
    task: moved,
    guards: [ledgerRequire(exists(released.account), 'HOLD_NOT_PENDING')],
    events: [taskEvent(moved), balanceEvent(released.account), ...out.events],
  };
}

/** settle (SUCCESS): the result stored, the charge kept, the slot freed. */
export function succeedStatement(
  task: Task,
  move: Move,
  at: Date,
  s: { resultUrls: string[]; consumedCredits: number },
  webhook: TaskWebhook | null,
): Transition {
  const moved = moveTask(
    task.id,
    move,
    at,
    sql`result_urls = ${s.resultUrls}::text[], upstream_credits = ${s.consumedCredits}::int,
        completed_at = ${at}, next_poll_at = NULL, lease_until = NULL`,
  );
  const slot = releaseSlotStep({ step: moved, column: '"tenantId"' });
  const out = outbox(moved, webhook);
  return { steps: [moved, slot, ...out.steps], task: moved, guards: [], events: [taskEvent(moved), ...out.events] };
}

/** settle (FAILED) and expire: the tenant's charge refunded and upstream's mirrored charge reversed, once each; the slot freed and the key's limit given back. */
export function failStatement(
  task: Task,
  move: Move,
  at: Date,
  f: { errorMessage: string; refundId: string; mirrorRefundId: string },
  webhook: TaskWebhook | null,
): Transition {
  const moved = moveTask(
    task.id,
    move,
    at,
    sql`error_message = ${f.errorMessage}, refunded = true, upstream_credits = 0,
        completed_at = ${at}, next_poll_at = NULL, lease_until = NULL`,
  );
  const refund = refundSteps({
    original: { step: moved, column: '"chargeId"' },
    transferId: f.refundId,
    kind: 'REFUND',
    note: `refund: ${f.errorMessage}`.slice(0, 500),
    releaseSlot: true,
  });
  const mirror = reverseSystemSteps(
    { original: { step: moved, column: '"upstreamChargeId"' }, transferId: f.mirrorRefundId, kind: 'UPSTREAM_REFUND', note: 'upstream refunded a failed task' },
    'mirror_refund',
  );
  const limit = giveBackLimitStep(moved, { step: refund.original, column: 'amount' }, refund.account);
  const out = outbox(moved, webhook);
  return {
    steps: [moved, ...refund.steps, limit, ...mirror.steps, ...out.steps],
    task: moved,
    guards: [ledgerRequire(exists(refund.transfer), 'ORIGINAL_NOT_FOUND')],
    events: [taskEvent(moved), balanceEvent(refund.account), ...out.events],
  };
}

/**
 * lateRefund: upstream refunded a task after it succeeded (reconciliation,
 * tasks/reconcile.ts). The task stays SUCCESS (its results were delivered)
 * and becomes refunded: the tenant's charge refunded, upstream's mirrored
 * charge reversed and the key's limit given back, as failStatement does, but
 * no slot is freed (success freed it). `NOT refunded` in the task's
 * conditional update makes it once, whoever runs it; the reconciliation row,
 * if any, is stamped corrected in the same statement. Lock order as
 * everywhere: the task row, then the tenant's account row, then the rest.
 */
export function lateRefundStatement(task: Task, move: Move, at: Date, ids: { refundId: string; mirrorRefundId: string }): Transition {
  const moved = step(
    'task_row',
    sql`UPDATE task SET status = ${move.to}::"TaskStatus", refunded = true, upstream_credits = 0, updated_at = ${at}
        WHERE id = ${task.id}::uuid AND status = ${move.from}::"TaskStatus" AND NOT refunded
        RETURNING ${TASK_RETURNING}`,
  );
  const refund = refundSteps({
    original: { step: moved, column: '"chargeId"' },
    transferId: ids.refundId,
    kind: 'REFUND',
    note: 'refund: upstream refunded the task after it succeeded',
    releaseSlot: false,
  });
  const mirror = reverseSystemSteps(
    { original: { step: moved, column: '"upstreamChargeId"' }, transferId: ids.mirrorRefundId, kind: 'UPSTREAM_REFUND', note: 'upstream refunded a task after it succeeded' },
    'mirror_refund',
  );
  const limit = giveBackLimitStep(moved, { step: refund.original, column: 'amount' }, refund.account);
  const corrected = step(
    'reconciliation_row',
    sql`UPDATE task_reconciliation r SET corrected_at = ${at} FROM ${ref(moved)} t WHERE r.task_id = t.id RETURNING r.task_id`,
  );
  return {
    steps: [moved, ...refund.steps, limit, ...mirror.steps, corrected],
    task: moved,
    guards: [ledgerRequire(exists(refund.transfer), 'ORIGINAL_NOT_FOUND')],
    events: [taskEvent(moved), balanceEvent(refund.account)],
  };
}
