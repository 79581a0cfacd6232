import { randomUUID } from 'node:crypto';
import type { Db } from '../db/client.ts';
import type { Task } from '../generated/prisma/client.ts';
import { SYSTEM_ACCOUNTS } from '../ledger/accounts.ts';
import { TASK_RETURNING } from './columns.ts';
import { upstreamCost } from './models.ts';

/**
 * Upstream accepted the task: in ONE statement, move it to IN_PROGRESS, post
 * its hold as the tenant's CHARGE (tenant → revenue) and mirror upstream's
 * charge (revenue → upstream spend), each transfer with its two entries.
 *
 * This is ledger/holds.ts's `post` fused with the task update and the mirror
 * transfer. It is one statement, not a transaction of several, because it
 * takes the tenant's balance row lock: held for one statement, a hot tenant
 * can be charged thousands of times a second; held across a transaction's
 * round trips, a few hundred. ledger:verify checks every invariant it keeps.
 *
 * Returns null when the task was no longer SUBMITTING (recovery abandoned it).
 */
export async function acceptTask(db: Db, task: Task, upstreamTaskId: string, firstPollAt: Date): Promise<Task | null> {
  const chargeId = randomUUID();
  const mirrorId = randomUUID();
  const cost = upstreamCost(task.model);
  const { REVENUE, UPSTREAM_SPEND } = SYSTEM_ACCOUNTS;
  const rows = await db.$queryRaw<(Task & { tenant_id: string; hold_id: string })[]>`
    WITH t AS (
      UPDATE task SET status = 'IN_PROGRESS', upstream_task_id = ${upstreamTaskId}, submitted_at = now(),
             next_poll_at = ${firstPollAt}, charge_id = ${chargeId}::uuid, upstream_charge_id = ${mirrorId}::uuid,
             updated_at = now()
      WHERE id = ${task.id}::uuid AND status = 'SUBMITTING'
      RETURNING ${TASK_RETURNING}, tenant_id, hold_id
    ), h AS (
      UPDATE hold SET status = 'POSTED', resolved_at = now()
      FROM t WHERE hold.id = t.hold_id AND hold.status = 'PENDING'
      RETURNING hold.id, hold.account_id, hold.tenant_id, hold.amount, hold.reference
    ), a AS (
      UPDATE account SET held = account.held - h.amount
      FROM h WHERE account.id = h.account_id
      RETURNING account.available + account.held AS balance_after
    ), charge AS (
      INSERT INTO transfer (id, kind, amount, debit_account_id, credit_account_id, tenant_id, reference, note, hold_id, created_at)
      SELECT ${chargeId}::uuid, 'CHARGE', h.amount, h.account_id, ${REVENUE}::uuid, h.tenant_id, h.reference,
             ${`${task.model} task`}, h.id, now()
      FROM h
      RETURNING id, created_at
    ), mirror AS (
      INSERT INTO transfer (id, kind, amount, debit_account_id, credit_account_id, tenant_id, reference, note, created_at)
      SELECT ${mirrorId}::uuid, 'UPSTREAM_CHARGE', ${cost}, ${REVENUE}::uuid, ${UPSTREAM_SPEND}::uuid, h.tenant_id,
             h.reference, ${`upstream task ${upstreamTaskId}`}, now()
      FROM h
      RETURNING id, created_at
    ), e AS (
      INSERT INTO entry (transfer_id, account_id, amount, balance_after, created_at)
      SELECT charge.id, h.account_id, -h.amount, a.balance_after, charge.created_at FROM charge, h, a
      UNION ALL SELECT charge.id, ${REVENUE}::uuid, h.amount, NULL, charge.created_at FROM charge, h
      UNION ALL SELECT mirror.id, ${REVENUE}::uuid, -${cost}::int, NULL, mirror.created_at FROM mirror
      UNION ALL SELECT mirror.id, ${UPSTREAM_SPEND}::uuid, ${cost}, NULL, mirror.created_at FROM mirror
    )
    SELECT t.* FROM t`;
  const row = rows[0];
  if (!row) return null;
  const { tenant_id: _tenant, hold_id: _hold, ...accepted } = row;
  return accepted;
}
