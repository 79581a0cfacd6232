// The poller's statements: leases on IN_PROGRESS tasks, and the hint of an
// early callback. They touch the task row only (no money moves here; the
// lifecycle's statements do that).
import { query, type Db } from '../db/client.ts';
import { sql, type Sql } from '../db/sql.ts';
import type { Task } from '../generated/prisma/client.ts';
import { TASK_RETURNING } from './statements.ts';

/**
 * Leases up to `limit` IN_PROGRESS tasks due for a poll. SKIP LOCKED plus the
 * lease means each task is polled by one process at a time; a process that
 * dies leaves leases that simply expire.
 */
export async function claimDueTasks(db: Db, options: { limit: number; leaseMs: number; taskId?: string }): Promise<Task[]> {
  return query<Task>(db, claimStatement(options));
}

/** The claim as one statement: the leased rows come back whole (TASK_RETURNING). */
export function claimStatement(options: { limit: number; leaseMs: number; taskId?: string }): Sql {
  const only = options.taskId ?? null;
  return sql`UPDATE task SET lease_until = now() + make_interval(secs => ${options.leaseMs / 1000})
    WHERE id IN (
      SELECT id FROM task
      WHERE status = 'IN_PROGRESS'
        AND (${only}::uuid IS NULL AND next_poll_at <= now() OR id = ${only}::uuid)
        AND (lease_until IS NULL OR lease_until < now())
      ORDER BY next_poll_at
      LIMIT ${options.limit}
      FOR UPDATE SKIP LOCKED
    )
    RETURNING ${TASK_RETURNING}`;
}

/** Releases a lease and schedules the next poll. */
export async function schedulePoll(db: Db, taskId: string, delayMs: number, countAttempt: boolean): Promise<void> {
  await query(db, scheduleStatement(taskId, delayMs, countAttempt));
}

export function scheduleStatement(taskId: string, delayMs: number, countAttempt: boolean): Sql {
  return sql`UPDATE task
    SET next_poll_at = now() + make_interval(secs => ${delayMs / 1000}), lease_until = NULL,
        poll_attempts = poll_attempts + ${countAttempt ? 1 : 0}
    WHERE id = ${taskId}::uuid AND status = 'IN_PROGRESS'`;
}

/**
 * Upstream called back before the gateway recorded that upstream accepted
 * the task (a fast render): the hint is kept on the SUBMITTING row as a poll
 * due now, which acceptance keeps (statements.ts, acceptStatement). False
 * when the task is no longer SUBMITTING.
 */
export async function keepEarlyCallback(db: Db, taskId: string): Promise<boolean> {
  const changed = await db.$executeRaw`UPDATE task SET next_poll_at = now() WHERE id = ${taskId}::uuid AND status = 'SUBMITTING'`;
  return changed > 0;
}

/** Seconds since the oldest task due for a poll (and not leased) became due; 0 when none waits (metrics: poller lag). */
export async function pollerLagSeconds(db: Db): Promise<number> {
  const rows = await db.$queryRaw<{ lag: number | null }[]>`
    SELECT EXTRACT(EPOCH FROM now() - min(next_poll_at))::float8 AS lag FROM task
    WHERE status = 'IN_PROGRESS' AND next_poll_at <= now() AND (lease_until IS NULL OR lease_until < now())`;
  return Math.max(0, rows[0]?.lag ?? 0);
}
