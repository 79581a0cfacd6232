// The reads of tasks that clients make most: one task, and a page of a
// tenant's tasks. Each is one statement run straight on the pool
// (db/client.ts, `query`), the columns named as Prisma's Task names them, so
// the schema resolves them as it resolves the Prisma client's rows. Through
// the Prisma client, the same page of the whole row cost several times the
// CPU of the statement itself (README, "Benchmarks").
import { query, type Db } from '../db/client.ts';
import { join, raw, sql, type Sql } from '../db/sql.ts';
import type { GenerationModel, Task, TaskStatus } from '../generated/prisma/client.ts';

/**
 * What clients see of a task: the columns the schema's Task fields read
 * (schema/tasks/types.ts), not the internals (callback token, idempotency,
 * ledger ids, poll leases), which are half the row and most of what the
 * driver would parse. A Task field that reads another column adds it here
 * (test/tasks/reads.test.ts resolves every Task field from both).
 */
export const TASK_VIEW_COLUMNS = [
  'id', 'tenantId', 'model', 'status', 'prompt', 'imageUrls', 'sourceTaskId', 'creditsCharged', 'upstreamCredits',
  'refunded', 'resultUrls', 'errorMessage', 'public', 'createdAt', 'updatedAt', 'completedAt',
] as const satisfies readonly (keyof Task)[];
export type TaskView = Pick<Task, (typeof TASK_VIEW_COLUMNS)[number]>;

const TASK_VIEW = raw(`
  id, tenant_id AS "tenantId", model::text AS model, status::text AS status, prompt, COALESCE(image_urls, '{}') AS "imageUrls",
  source_task_id AS "sourceTaskId", credits_charged AS "creditsCharged", upstream_credits AS "upstreamCredits", refunded,
  COALESCE(result_urls, '{}') AS "resultUrls", error_message AS "errorMessage", public,
  created_at AS "createdAt", updated_at AS "updatedAt", completed_at AS "completedAt"`);

/** One of a tenant's tasks, or null for an unknown id or another tenant's. */
export async function readTask(db: Db, where: { id: string; tenantId: string }): Promise<TaskView | null> {
  const rows = await query<TaskView>(db, sql`SELECT ${TASK_VIEW} FROM task WHERE id = ${where.id}::uuid AND tenant_id = ${where.tenantId}::uuid`);
  return rows[0] ?? null;
}

export interface TaskFilter {
  tenantId: string;
  status?: TaskStatus;
  model?: GenerationModel;
}

/** A position in the newest-first order of tasks (schema/cursors.ts). */
interface Position {
  createdAt: Date;
  id: string;
}

/**
 * A page of a tenant's tasks in creation order (`desc`: newest first), only
 * rows older than `after` and newer than `before`, at most `take`: keyset
 * paging on (created_at, id), which the (tenant_id, created_at, id) index serves.
 */
export async function readTaskPage(
  db: Db,
  filter: TaskFilter,
  page: { after: Position | null; before: Position | null; order: 'asc' | 'desc'; take: number },
): Promise<TaskView[]> {
  const conditions: Sql[] = [sql`tenant_id = ${filter.tenantId}::uuid`];
  if (filter.status) conditions.push(sql`status = ${filter.status}::"TaskStatus"`);
  if (filter.model) conditions.push(sql`model = ${filter.model}::"GenerationModel"`);
  if (page.after) conditions.push(sql`(created_at, id) < (${page.after.createdAt}::timestamptz, ${page.after.id}::uuid)`);
  if (page.before) conditions.push(sql`(created_at, id) > (${page.before.createdAt}::timestamptz, ${page.before.id}::uuid)`);
  const order = page.order === 'asc' ? sql`ORDER BY created_at ASC, id ASC` : sql`ORDER BY created_at DESC, id DESC`;
  return query<TaskView>(
    db,
    sql`SELECT ${TASK_VIEW} FROM task WHERE ${join(conditions, ' AND ')} ${order} LIMIT ${page.take}`,
  );
}
