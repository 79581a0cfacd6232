// The audit log: who changed what. Every admin write and every key or secret
// change writes one row, in the same statement or transaction as the change
// it records, so a change that fails leaves no row and a change that commits
// always has one. A repeat that changes nothing (an idempotent retry)
// writes none.
//
// Two ways in, one per way the change itself is written:
// - `auditStep`: a step of the change's own SQL statement (db/sql.ts),
//   inserting only when the step it follows wrote a row;
// - `recordAudit`: inside the change's Prisma transaction.
//
// It sits just above db: the ledger, tenants, auth and events record through
// it; it knows nothing of them.
import type { Db, Tx } from '../db/client.ts';
import { raw, ref, sql, step, type Sql, type Step } from '../db/sql.ts';
import type { AuditActorKind, AuditEvent, Prisma } from '../generated/prisma/client.ts';

/** The credential that made a change: a key by id and display prefix, or the ADMIN_TOKEN. Never a secret. */
export interface AuditActor {
  kind: AuditActorKind;
  keyId: string | null;
  prefix: string | null;
}

/** What was done, dotted: `<thing>.<verb>`. */
export type AuditAction =
  | 'tenant.create'
  | 'tenant.suspend'
  | 'tenant.reactivate'
  | 'apiKey.issue'
  | 'apiKey.revoke'
  | 'apiKey.rotate'
  | 'credits.topUp'
  | 'credits.adjust'
  | 'price.set'
  | 'price.remove'
  | 'balance.setLowThreshold'
  | 'webhookSecret.rotate'
  | 'webhookEndpoint.set';

export interface AuditRecord {
  actor: AuditActor;
  action: AuditAction;
  tenantId: string | null;
  /** What was changed, for humans and tools; never a secret. */
  details: Record<string, unknown>;
}

/** Writes `record` inside the caller's transaction. */
export async function recordAudit(tx: Tx, record: AuditRecord): Promise<void> {
  await tx.auditEvent.create({ data: auditData(record) });
}

function auditData(record: AuditRecord): Prisma.AuditEventUncheckedCreateInput {
  return {
    action: record.action,
    actorKind: record.actor.kind,
    actorKeyId: record.actor.keyId,
    actorPrefix: record.actor.prefix,
    tenantId: record.tenantId,
    details: record.details as Prisma.InputJsonObject,
  };
}

/**
 * A step that writes `record` once for each row of `after` (a step that
 * writes at most one row): no row, no audit. From that row (alias `r`):
 * `extra` adds details computed in SQL (e.g. the id of the transfer the
 * statement created), and `tenantColumn` names the tenant when the caller
 * only learns it from the row (e.g. the key a revocation found).
 */
export function auditStep(
  name: string,
  record: AuditRecord,
  after: Step,
  from: { extra?: Sql; tenantColumn?: string } = {},
): Step {
  const details = sql`${JSON.stringify(record.details)}::jsonb`;
  const tenant = from.tenantColumn ? sql`r.${raw(`"${from.tenantColumn}"`)}` : sql`${record.tenantId}::uuid`;
  return step(
    name,
    sql`INSERT INTO audit_event (id, action, actor_kind, actor_key_id, actor_prefix, tenant_id, details, created_at)
        SELECT gen_random_uuid(), ${record.action}, ${record.actor.kind}::"AuditActorKind", ${record.actor.keyId}::uuid,
               ${record.actor.prefix}, ${tenant}, ${from.extra ? sql`${details} || ${from.extra}` : details}, now()
        FROM ${ref(after)} r
        RETURNING id`,
  );
}

/** A page of events, newest first: all of them, or one tenant's; keyset on (createdAt, id). */
export async function listAuditEvents(
  db: Db,
  options: { tenantId: string | null; take: number; where: Prisma.AuditEventWhereInput; orderBy: Prisma.AuditEventOrderByWithRelationInput[] },
): Promise<AuditEvent[]> {
  return db.auditEvent.findMany({
    where: { ...(options.tenantId ? { tenantId: options.tenantId } : {}), ...options.where },
    orderBy: options.orderBy,
    take: options.take,
  });
}
