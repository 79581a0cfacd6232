import { randomBytes, randomUUID } from 'node:crypto';
import type { Db, Tx } from '../db/client.ts';
import { InsufficientCreditsError, NotFoundError, RateLimitedError } from '../errors.ts';
import type { Task } from '../generated/prisma/client.ts';
import { DEFAULT_PRICE_SCOPE, effectivePrice } from '../ledger/pricing.ts';
import { TASK_RETURNING } from './columns.ts';
import { upstreamCost } from './models.ts';
import type { GenerationRequest } from './requests.ts';

// The task table's hot statements. Submission composes the ledger's
// reservation (see ledger/holds.ts) with the task insert in ONE statement: the
// balance check, the in-flight check, the hold and the SUBMITTING task commit
// together or not at all, and the tenant's row is locked for that statement
// only, which is what lets one tenant submit hundreds of tasks per second.

export interface NewTask {
  tenantId: string;
  request: GenerationRequest;
  requestHash: string;
  maxInFlight: number;
}

export async function insertSubmittingTask(db: Db, input: NewTask): Promise<Task> {
  const id = randomUUID();
  const holdId = randomUUID();
  const callbackToken = randomBytes(24).toString('base64url');
  const r = input.request;
  // The tenant's price (ledger/pricing.ts's rule, in SQL): its override,
  // else the default override, else the upstream cost.
  const rows = await db.$queryRaw<Task[]>`
    WITH p AS (
      SELECT COALESCE(
        (SELECT credits FROM price WHERE model = ${r.model}::"GenerationModel" AND scope = ${input.tenantId}),
        (SELECT credits FROM price WHERE model = ${r.model}::"GenerationModel" AND scope = ${DEFAULT_PRICE_SCOPE}),
        ${upstreamCost(r.model)}) AS credits
    ), acc AS (
      UPDATE account
      SET available = available - p.credits, held = held + p.credits, in_flight = in_flight + 1
      FROM p
      WHERE tenant_id = ${input.tenantId}::uuid AND available >= p.credits AND in_flight < ${input.maxInFlight}
      RETURNING account.id
    ), h AS (
      INSERT INTO hold (id, account_id, tenant_id, amount, status, reference, created_at)
      SELECT ${holdId}::uuid, acc.id, ${input.tenantId}::uuid, p.credits, 'PENDING', ${`task:${id}`}, now()
      FROM acc, p
      RETURNING id, amount
    )
    INSERT INTO task (id, tenant_id, model, status, prompt, image_urls, result_urls, source_task_id, callback_url, public,
                      idempotency_key, request_hash, callback_token, hold_id, credits_charged, created_at, updated_at)
    SELECT ${id}::uuid, ${input.tenantId}::uuid, ${r.model}::"GenerationModel", 'SUBMITTING', ${r.prompt},
           COALESCE(${r.imageUrls}::text[], '{}'), '{}', ${r.sourceTaskId}::uuid, ${r.callbackUrl}, ${r.public},
           ${r.idempotencyKey}, ${input.requestHash}, ${callbackToken}, h.id, h.amount, now(), now()
    FROM h
    RETURNING ${TASK_RETURNING}`;
  if (rows[0]) return rows[0];

  // Nothing was written; say why.
  const account = await db.account.findUnique({
    where: { tenantId: input.tenantId },
    select: { available: true, inFlight: true },
  });
  if (!account) throw new NotFoundError('Tenant not found');
  if (account.inFlight >= input.maxInFlight) {
    throw new RateLimitedError(
      `Too many tasks in flight: at most ${input.maxInFlight} per tenant; wait for some to finish`,
      5,
    );
  }
  throw new InsufficientCreditsError(await effectivePrice(db, input.tenantId, r.model), account.available);
}

/** Frees the tenant's in-flight slot of a task that has ended. */
export async function releaseSlot(tx: Tx, tenantId: string): Promise<void> {
  await tx.$executeRaw`UPDATE account SET in_flight = in_flight - 1 WHERE tenant_id = ${tenantId}::uuid`;
}

/**
 * Leases up to `limit` IN_PROGRESS tasks due for a poll. SKIP LOCKED plus the
 * lease means each task is polled by one process at a time; a process that
 * dies leaves leases that simply expire.
 */
export async function claimDueTasks(db: Db, options: { limit: number; leaseMs: number; taskId?: string }): Promise<Task[]> {
  const only = options.taskId ?? null;
  const rows = await db.$queryRaw<{ id: string }[]>`
    UPDATE task SET lease_until = now() + make_interval(secs => ${options.leaseMs / 1000})
    WHERE id IN (
      SELECT id FROM task
      WHERE status = 'IN_PROGRESS'
        AND (${only}::uuid IS NULL AND next_poll_at <= now() OR id = ${only}::uuid)
        AND (lease_until IS NULL OR lease_until < now())
      ORDER BY next_poll_at
      LIMIT ${options.limit}
      FOR UPDATE SKIP LOCKED
    )
    RETURNING id`;
  if (rows.length === 0) return [];
  return db.task.findMany({ where: { id: { in: rows.map((r) => r.id) } } });
}

/** Releases a lease and schedules the next poll. */
export async function schedulePoll(db: Db, taskId: string, delayMs: number, countAttempt: boolean): Promise<void> {
  await db.$executeRaw`
    UPDATE task
    SET next_poll_at = now() + make_interval(secs => ${delayMs / 1000}), lease_until = NULL,
        poll_attempts = poll_attempts + ${countAttempt ? 1 : 0}
    WHERE id = ${taskId}::uuid AND status = 'IN_PROGRESS'`;
}
