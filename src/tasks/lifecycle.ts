// The task lifecycle: every change of a task's status, in one place, each one
// SQL statement (tasks/statements.ts) that moves the task, moves the money
// (ledger/*-steps.ts), writes the webhook outbox and announces the change to
// every gateway process, all or nothing. Nobody else publishes task or
// balance events: a statement's announcement commits with it.
//
// Exactly once: a transition starts with a conditional update of the task's
// status (`WHERE status = from`). Whoever moves it first wins; a second
// callback, another process's poll or recovery moves nothing and does nothing.
//
// Lock order, for every statement that touches a task and an account:
//   1. the task row, or for a new task its (tenant, idempotency key): claimed first;
//   2. the hold;
//   3. the tenant's account row, once, last.
// System accounts are never locked. One order means no deadlock: a retry
// that waits for a task's key never holds the account row another
// statement, holding that task, waits for.
import { randomUUID } from 'node:crypto';
import { eventsArray, type Store } from '../db/announce.ts';
import { query } from '../db/client.ts';
import { ledgerGuardOf } from '../db/errors.ts';
import { join, raw, ref, sql, withSteps } from '../db/sql.ts';
import { InsufficientCreditsError, KeyLimitExceededError, NotFoundError, RateLimitedError, TenantSuspendedError } from '../errors.ts';
import type { Task, TaskOrigin, TaskStatus } from '../generated/prisma/client.ts';
import { priceOf } from '../ledger/pricing.ts';
import { remainingCredits } from './key-limits.ts';
import { webhookEventType, webhookPayload } from './payload.ts';
import type { GenerationRequest } from './requests.ts';
import {
  acceptStatement,
  failStatement,
  lateRefundStatement,
  rejectStatement,
  submitStatement,
  succeedStatement,
  type Move,
  type TaskWebhook,
  type Transition,
} from './statements.ts';

/** The allowed transitions: the status a task must have, and those it may get. */
export const TRANSITIONS = {
  /** A new task, its price held and an in-flight slot taken. */
  submit: { from: null, to: ['SUBMITTING'] },
  /** Upstream took it: the hold becomes the tenant's charge, upstream's cost is mirrored. */
  accept: { from: 'SUBMITTING', to: ['IN_PROGRESS'] },
  /** Upstream refused it or could not be reached: the hold is voided, nothing is charged. */
  reject: { from: 'SUBMITTING', to: ['FAILED'] },
  /** Our process died before upstream answered: as reject, and the webhook is told. */
  recover: { from: 'SUBMITTING', to: ['FAILED'] },
  /** Upstream finished: the charge is kept, or refunded with upstream's mirrored charge. */
  settle: { from: 'IN_PROGRESS', to: ['SUCCESS', 'FAILED'] },
  /** No result within TASK_DEADLINE_MS: failed and refunded. */
  expire: { from: 'IN_PROGRESS', to: ['FAILED'] },
  /** Upstream refunded it after it succeeded (reconciliation): still SUCCESS, now refunded on both sides, once. */
  lateRefund: { from: 'SUCCESS', to: ['SUCCESS'] },
} as const satisfies Record<string, { from: TaskStatus | null; to: readonly TaskStatus[] }>;

type Name = Exclude<keyof typeof TRANSITIONS, 'submit'>;

function move(name: Name, to: TaskStatus): Move {
  const t = TRANSITIONS[name];
  if (!(t.to as readonly TaskStatus[]).includes(to)) throw new Error(`${name} cannot move a task to ${to}`);
  return { from: t.from, to };
}

/** Runs a transition's statement; the task as it is now, or null when it was not in the `from` status. */
async function run(store: Store, t: Transition): Promise<Task | null> {
  const columns = [
    ...t.guards.map((guard, i) => sql`${guard} AS ${raw(`_guard${i}`)}`),
    sql`${store.announcer.column(eventsArray(t.events))} AS _announced`,
  ];
  // Straight on the pool (db/client.ts, `query`): every generation runs two of these.
  const rows = await query<Record<string, unknown>>(store.db, withSteps(t.steps, sql`SELECT t.*, ${join(columns, ', ')} FROM ${ref(t.task)} t`));
  const row = rows[0];
  if (!row) return null;
  store.announcer.committed(row['_announced']);
  for (const key of Object.keys(row)) if (key.startsWith('_')) delete row[key];
  return row as unknown as Task;
}

export interface Submission {
  tenantId: string;
  /** The key that asked; its credit limit, if any, is counted (key-limits.ts). */
  keyId?: string | null;
  /** The API it was asked through (default GRAPHQL). */
  origin?: TaskOrigin;
  request: GenerationRequest;
  requestHash: string;
  maxInFlight: number;
}

/**
 * submit: the task, SUBMITTING, with its price held. Null when the request's
 * idempotency key belongs to another task (the caller replays that one).
 * Refused (suspended tenant, balance, in-flight limit, the key's credit
 * limit, unknown tenant): a typed error, nothing written.
 */
export async function submit(store: Store, s: Submission): Promise<Task | null> {
  try {
    return await run(store, submitStatement({ ...s, keyId: s.keyId ?? null, origin: s.origin ?? 'GRAPHQL', id: randomUUID(), holdId: randomUUID() }));
  } catch (error) {
    const guard = ledgerGuardOf(error);
    if (guard === 'TENANT_SUSPENDED') throw new TenantSuspendedError();
    if (guard === 'RESERVATION_REFUSED') throw await whyRefused(store, s);
    if (guard === 'KEY_LIMIT_EXCEEDED') throw await keyLimitExceeded(store, s.keyId!);
    throw error;
  }
}

/** The refusal of a submission over its key's credit limit. The guard fires only for a key with a limit (key-limits.ts), so its row is there. */
async function keyLimitExceeded(store: Store, keyId: string): Promise<Error> {
  const { creditLimit } = await store.db.apiKey.findUniqueOrThrow({ where: { id: keyId }, select: { creditLimit: true } });
  const limit = creditLimit!;
  return new KeyLimitExceededError(limit.credits, limit.period, remainingCredits(limit, new Date()));
}

async function whyRefused(store: Store, s: Submission): Promise<Error> {
  // No account: no tenant (the reservation finds no row before the task's foreign key is checked, at the statement's end).
  const account = await store.db.account.findUnique({ where: { tenantId: s.tenantId }, select: { available: true, inFlight: true } });
  if (!account) return new NotFoundError('Tenant not found');
  if (account.inFlight >= s.maxInFlight) {
    return new RateLimitedError(`Too many tasks in flight: at most ${s.maxInFlight} per tenant; wait for some to finish`, 5);
  }
  return new InsufficientCreditsError(await priceOf(store.db, s.tenantId, s.request.model), account.available);
}

/** accept: IN_PROGRESS, charged. Null when the task was no longer SUBMITTING (recovery abandoned it). */
export function accept(store: Store, task: Task, upstreamTaskId: string, firstPollAt: Date): Promise<Task | null> {
  return run(
    store,
    acceptStatement(task, move('accept', 'IN_PROGRESS'), new Date(), {
      upstreamTaskId,
      firstPollAt,
      chargeId: randomUUID(),
      mirrorId: randomUUID(),
    }),
  );
}

/** reject: FAILED, hold voided, nothing charged. Null when it was no longer SUBMITTING. */
export function reject(store: Store, task: Task, errorMessage: string): Promise<Task | null> {
  return run(store, rejectStatement(task, move('reject', 'FAILED'), new Date(), errorMessage, null));
}

/**
 * recover: a SUBMITTING task whose process died (or hung) before upstream
 * answered. Upstream may or may not have created it; if it did, that task is
 * an orphan the tenant is not billed for (README, "Crash recovery").
 */
export function recover(store: Store, task: Task): Promise<Task | null> {
  const errorMessage = 'Submission interrupted before upstream confirmed it; nothing was charged. Please retry.';
  const at = new Date();
  const ended: Task = { ...task, status: 'FAILED', errorMessage, creditsCharged: 0, completedAt: at, updatedAt: at, idempotencyKey: null };
  // The client may never have seen an answer: its webhook is told.
  return run(store, rejectStatement(task, move('recover', 'FAILED'), at, errorMessage, webhookFor(ended, at)));
}

export type Outcome =
  | { status: 'SUCCESS'; resultUrls: string[]; consumedCredits: number }
  | { status: 'FAILED'; errorMessage: string };

/** settle: SUCCESS keeps the charge; FAILED refunds it and reverses upstream's mirrored charge. Null: someone else settled it. */
export function settle(store: Store, task: Task, outcome: Outcome): Promise<Task | null> {
  const m = move('settle', outcome.status);
  return outcome.status === 'SUCCESS' ? succeed(store, task, m, outcome) : fail(store, task, m, outcome.errorMessage);
}

/** expire: past the deadline, FAILED and refunded (README, "Deadlines"). */
export function expire(store: Store, task: Task, deadlineMs: number): Promise<Task | null> {
  return fail(store, task, move('expire', 'FAILED'), `Timed out: no result from upstream within ${Math.round(deadlineMs / 1000)} s`);
}

const ended = (at: Date) => ({ completedAt: at, updatedAt: at, nextPollAt: null, leaseUntil: null });

function succeed(store: Store, task: Task, m: Move, outcome: Extract<Outcome, { status: 'SUCCESS' }>): Promise<Task | null> {
  const at = new Date();
  const done: Task = { ...task, ...ended(at), status: 'SUCCESS', resultUrls: outcome.resultUrls, upstreamCredits: outcome.consumedCredits };
  return run(store, succeedStatement(task, m, at, outcome, webhookFor(done, at)));
}

function fail(store: Store, task: Task, m: Move, errorMessage: string): Promise<Task | null> {
  const at = new Date();
  const done: Task = { ...task, ...ended(at), status: 'FAILED', errorMessage, refunded: true, upstreamCredits: 0 };
  return run(
    store,
    failStatement(task, m, at, { errorMessage, refundId: randomUUID(), mirrorRefundId: randomUUID() }, webhookFor(done, at)),
  );
}

/** The tenant's webhook for a task that just ended (its callbackUrl, its endpoint), as the statement will have written it. */
function webhookFor(ended: Task, at: Date): TaskWebhook {
  const type = webhookEventType(ended);
  return {
    tenantId: ended.tenantId,
    taskId: ended.id,
    callbackUrl: ended.callbackUrl,
    eventType: type,
    payload: webhookPayload(ended, type, at),
  };
}

/**
 * lateRefund: upstream refunded a task after it succeeded (tasks/reconcile.ts).
 * The tenant's charge is refunded and upstream's mirrored charge reversed, in
 * one statement, once: null when the task was not a SUCCESS still unrefunded
 * (another process, or an earlier pass, mirrored it first).
 */
export function mirrorLateRefund(store: Store, task: Task): Promise<Task | null> {
  return run(store, lateRefundStatement(task, move('lateRefund', 'SUCCESS'), new Date(), { refundId: randomUUID(), mirrorRefundId: randomUUID() }));
}
