// Usage and margin: what the tasks of each day, tenant and model cost their
// tenant and us. Read from the ledger's transfers, each task joined to at
// most one of each (its charge, the charge's refund, upstream's mirrored
// charge and its refund: `reverses_id` is unique), so the rows add up to the
// ledger exactly. A task counts on the UTC day it was created, and so does
// its money, refunds that came later (reconciliation) included.
import type { GenerationModel } from '../catalog.ts';
import type { Db } from '../db/client.ts';
import { empty, sql } from '../db/sql.ts';

export interface UsageRow {
  /** YYYY-MM-DD, UTC. */
  day: string;
  tenantId: string;
  model: GenerationModel;
  /** Tasks created, whatever became of them. */
  tasks: number;
  succeeded: number;
  failed: number;
  creditsCharged: number;
  creditsRefunded: number;
  /** What upstream kept: its charges mirrored, less its refunds. */
  upstreamCredits: number;
  /** Charged − refunded − upstreamCredits. */
  margin: number;
}

/** The longest window one report may cover. */
export const MAX_USAGE_DAYS = 366;

/** Rows for tasks created in [from, to), optionally of one tenant, ordered by day, tenant, model. */
export async function usageReport(db: Db, window: { from: Date; to: Date; tenantId: string | null }): Promise<UsageRow[]> {
  const rows = await db.$queryRaw<(Omit<UsageRow, 'margin'> & { upstreamCredits: bigint; creditsCharged: bigint; creditsRefunded: bigint })[]>(sql`
    SELECT to_char((t.created_at AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD') AS day,
           t.tenant_id::text AS "tenantId", t.model::text AS model,
           count(*)::int AS tasks,
           (count(*) FILTER (WHERE t.status = 'SUCCESS'))::int AS succeeded,
           (count(*) FILTER (WHERE t.status = 'FAILED'))::int AS failed,
           COALESCE(sum(charge.amount), 0)::bigint AS "creditsCharged",
           COALESCE(sum(refund.amount), 0)::bigint AS "creditsRefunded",
           (COALESCE(sum(mirror.amount), 0) - COALESCE(sum(mirror_refund.amount), 0))::bigint AS "upstreamCredits"
    FROM task t
    LEFT JOIN transfer charge ON charge.id = t.charge_id
    LEFT JOIN transfer refund ON refund.reverses_id = t.charge_id
    LEFT JOIN transfer mirror ON mirror.id = t.upstream_charge_id
    LEFT JOIN transfer mirror_refund ON mirror_refund.reverses_id = t.upstream_charge_id
    WHERE t.created_at >= ${window.from} AND t.created_at < ${window.to}
      ${window.tenantId ? sql`AND t.tenant_id = ${window.tenantId}::uuid` : empty}
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3`);
  return rows.map((row) => {
    const charged = Number(row.creditsCharged);
    const refunded = Number(row.creditsRefunded);
    const upstream = Number(row.upstreamCredits);
    return { ...row, creditsCharged: charged, creditsRefunded: refunded, upstreamCredits: upstream, margin: charged - refunded - upstream };
  });
}
