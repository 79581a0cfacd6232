// Reconciliation: a slow worker reads upstream's /status of tasks that ended
// in the last RECONCILE_WINDOW_HOURS again and records what it said
// (task_reconciliation). Where upstream changed its mind after a success
// (consumed_credits dropped to 0: a late refund), the lifecycle mirrors the
// refund to the tenant and in the upstream spend, once (lifecycle.ts,
// lateRefund). Any other disagreement is recorded and logged, not corrected:
// only upstream's refunds are ours to mirror.
//
// Each tick checks one batch, oldest check first, so upstream sees at most
// RECONCILE_BATCH status reads per RECONCILE_INTERVAL_MS however many tasks
// ended. Several processes can run one each: a check is claimed with a lease
// (and the tasks' rows skipped while another process claims them), and the
// correction's conditional update makes it once even if two checks met.
import type { Db } from '../db/client.ts';
import { empty, sql } from '../db/sql.ts';
import type { Task } from '../generated/prisma/client.ts';
import type { UpstreamTaskRecord } from '../upstream/wire.ts';
import { createIntervalWorker, type Worker } from '../worker.ts';
import type { TaskDeps } from './deps.ts';
import { mirrorLateRefund } from './lifecycle.ts';
import { countLateRefund } from './task-metrics.ts';

export interface ReconcileSettings {
  /** How often a tick runs; a task is checked again once its last check is this old. */
  intervalMs: number;
  /** Tasks that ended this many hours ago or less are checked. */
  windowHours: number;
  /** Tasks checked per tick. */
  batch: number;
}

export type CheckOutcome = 'agreed' | 'mismatch' | 'corrected' | 'unreachable';

/** What one pass did, by outcome. */
export type PassResult = Record<CheckOutcome, number>;

/**
 * Claims up to `batch` ended tasks due for a check: never checked, or last
 * checked at least `intervalMs` before `now`, and not leased by another
 * process. The claim is the lease on the task's reconciliation row (made on
 * first claim); `ON CONFLICT … WHERE` lets exactly one process take it.
 */
export async function claimForReconciliation(db: Db, now: Date, s: ReconcileSettings & { leaseMs: number }): Promise<Task[]> {
  const windowStart = new Date(now.getTime() - s.windowHours * 3_600_000);
  const dueBefore = new Date(now.getTime() - s.intervalMs);
  const leaseUntil = new Date(now.getTime() + s.leaseMs);
  const rows = await db.$queryRaw<{ id: string }[]>`
    WITH due AS (
      SELECT t.id FROM task t LEFT JOIN task_reconciliation r ON r.task_id = t.id
      WHERE t.status IN ('SUCCESS', 'FAILED') AND t.upstream_task_id IS NOT NULL
        AND t.completed_at > ${windowStart} AND t.completed_at <= ${now}
        AND (r.task_id IS NULL OR ((r.last_checked_at IS NULL OR r.last_checked_at <= ${dueBefore})
                                   AND (r.lease_until IS NULL OR r.lease_until < ${now})))
      ORDER BY r.last_checked_at ASC NULLS FIRST, t.completed_at
      LIMIT ${s.batch}
      FOR NO KEY UPDATE OF t SKIP LOCKED
    )
    INSERT INTO task_reconciliation AS r (task_id, lease_until)
    SELECT id, ${leaseUntil} FROM due
    ON CONFLICT (task_id) DO UPDATE SET lease_until = EXCLUDED.lease_until
      WHERE (r.last_checked_at IS NULL OR r.last_checked_at <= ${dueBefore}) AND (r.lease_until IS NULL OR r.lease_until < ${now})
    RETURNING r.task_id AS id`;
  if (rows.length === 0) return [];
  return db.task.findMany({ where: { id: { in: rows.map((r) => r.id) } } });
}

/** Records one check: what upstream said, and how far it was from our record when they differ. Releases the lease. */
async function recordCheck(db: Db, task: Task, record: UpstreamTaskRecord, now: Date, drift: number): Promise<void> {
  const mismatch = drift === 0 ? empty : sql`, drift = ${drift}::int, mismatch_at = COALESCE(mismatch_at, ${now})`;
  await db.$executeRaw(sql`
    UPDATE task_reconciliation
    SET checks = checks + 1, last_checked_at = ${now}, lease_until = NULL,
        upstream_status = ${record.rawStatus}, upstream_credits = ${record.consumedCredits}::int ${mismatch}
    WHERE task_id = ${task.id}::uuid`);
}

/**
 * Reads one claimed task's /status and acts on it. Our record is what we
 * mirrored: upstream's consumed_credits at settlement, 0 once refunded. The
 * mismatch is recorded before the correction, so a process that dies between
 * the two leaves a mismatch the next check finds and corrects.
 */
export async function checkTask(deps: TaskDeps, task: Task, now: Date): Promise<CheckOutcome> {
  const db = deps.store.db;
  let record: UpstreamTaskRecord;
  try {
    record = await deps.upstream.status(task.upstreamTaskId!);
  } catch (error) {
    await deps.health.failed(error);
    deps.logger.warn({ err: error, taskId: task.id }, 'reconciliation: status read failed; will retry');
    await db.$executeRaw`UPDATE task_reconciliation SET lease_until = NULL WHERE task_id = ${task.id}::uuid`;
    return 'unreachable';
  }
  await deps.health.succeeded('status');
  const ours = task.refunded ? 0 : (task.upstreamCredits ?? 0);
  const drift = ours - record.consumedCredits;
  await recordCheck(db, task, record, now, drift);
  if (drift === 0) return 'agreed';
  const lateRefund = task.status === 'SUCCESS' && !task.refunded && record.consumedCredits === 0 && record.status !== 'IN_PROGRESS';
  const facts = { taskId: task.id, tenantId: task.tenantId, upstreamTaskId: task.upstreamTaskId, ours, upstream: record.consumedCredits, upstreamStatus: record.rawStatus };
  if (!lateRefund) {
    deps.logger.warn(facts, 'reconciliation: upstream disagrees with our record; recorded, not corrected');
    return 'mismatch';
  }
  // Null: another process's check mirrored it first.
  const refunded = await mirrorLateRefund(deps.store, task);
  if (!refunded) return 'mismatch';
  countLateRefund(deps.metrics, refunded);
  deps.logger.info(facts, 'reconciliation: upstream refunded a task after it succeeded; refund mirrored');
  return 'corrected';
}

/** One pass: claims a batch and checks it. For the worker's ticks, and for tests that cannot wait for them. */
export async function reconcileOnce(deps: TaskDeps, settings: ReconcileSettings, now = new Date()): Promise<PassResult> {
  const result: PassResult = { agreed: 0, mismatch: 0, corrected: 0, unreachable: 0 };
  const tasks = await claimForReconciliation(deps.store.db, now, { ...settings, leaseMs: deps.settings.leaseMs });
  await Promise.all(
    tasks.map(async (task) => {
      try {
        result[await checkTask(deps, task, now)]++;
      } catch (error) {
        result.unreachable++;
        deps.logger.error({ err: error, taskId: task.id }, 'reconciliation: check failed');
      }
    }),
  );
  return result;
}

/** The worker: one pass every RECONCILE_INTERVAL_MS; main.ts stops it on shutdown like the poller. */
export function createReconciler(deps: TaskDeps, settings: ReconcileSettings): Worker {
  return createIntervalWorker('reconciliation', settings.intervalMs, deps.logger, async () => {
    const result = await reconcileOnce(deps, settings);
    if (result.mismatch + result.corrected > 0) deps.logger.info({ ...result }, 'reconciliation pass');
  });
}

/** The longest window one report may cover. */
export const MAX_RECONCILIATION_DAYS = 366;

export interface ReconciliationReport {
  from: Date;
  to: Date;
  /** Tasks that ended in [from, to) and were checked at least once. */
  tasksChecked: number;
  /** Of those, tasks where upstream's consumed_credits differed from our record at some check. */
  mismatches: number;
  /** Of those, tasks whose late refund was mirrored. */
  corrected: number;
  /** Σ |our record − upstream's consumed_credits| over the mismatches, as last found (before any correction). */
  driftCredits: number;
}

/** What reconciliation found for the tasks that ended in [from, to). */
export async function reconciliationReport(db: Db, window: { from: Date; to: Date }): Promise<ReconciliationReport> {
  const [row] = await db.$queryRaw<{ checked: number; mismatches: number; corrected: number; drift: bigint }[]>`
    SELECT (count(*) FILTER (WHERE r.checks > 0))::int AS checked,
           (count(*) FILTER (WHERE r.mismatch_at IS NOT NULL))::int AS mismatches,
           (count(*) FILTER (WHERE r.corrected_at IS NOT NULL))::int AS corrected,
           COALESCE(sum(abs(r.drift)) FILTER (WHERE r.mismatch_at IS NOT NULL), 0)::bigint AS drift
    FROM task_reconciliation r JOIN task t ON t.id = r.task_id
    WHERE t.completed_at >= ${window.from} AND t.completed_at < ${window.to}`;
  return {
    ...window,
    tasksChecked: row?.checked ?? 0,
    mismatches: row?.mismatches ?? 0,
    corrected: row?.corrected ?? 0,
    driftCredits: Number(row?.drift ?? 0),
  };
}
