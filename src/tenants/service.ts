import { z } from 'zod';
import { recordAudit, type AuditActor } from '../audit/log.ts';
import type { Db, Tx } from '../db/client.ts';
import { sql } from '../db/sql.ts';
import { NotFoundError } from '../errors.ts';
import type { Tenant, TenantStatus } from '../generated/prisma/client.ts';
import { openTenantAccount } from '../ledger/accounts.ts';

/** A tenant's name, as admins give it: trimmed, 1 to 200 characters. */
export const tenantName = z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters');

/** Why a tenant is suspended, as the admin gives it: shown to the admin, kept in the audit log. */
export const suspensionReason = z.string().trim().min(1, 'must not be empty').max(500, 'must be at most 500 characters');

/**
 * Creates a tenant together with its ledger account, in one transaction. With
 * an actor (an admin's request) the audit row is written in it too; without
 * (the demo tenant at start) there is no one to name.
 */
export async function createTenant(db: Db, input: { name: string }, actor?: AuditActor): Promise<Tenant> {
  return db.$transaction(async (tx) => {
    const tenant = await tx.tenant.create({ data: { name: input.name } });
    await openTenantAccount(tx, tenant.id);
    if (actor) await recordAudit(tx, { actor, action: 'tenant.create', tenantId: tenant.id, details: { name: tenant.name } });
    return tenant;
  });
}

/**
 * Suspends a tenant: from the commit on, its generations are refused
 * (TENANT_SUSPENDED, tasks/statements.ts); reads, live status and the
 * settlement of tasks in flight go on. Suspending a suspended tenant again
 * replaces the reason.
 */
export async function suspendTenant(db: Db, input: { tenantId: string; reason: string }, actor: AuditActor): Promise<Tenant> {
  return db.$transaction(async (tx) => {
    const before = await lockTenant(tx, input.tenantId);
    const tenant = await tx.tenant.update({
      where: { id: input.tenantId },
      data: { status: 'SUSPENDED', suspendedReason: input.reason, ...(before.status === 'SUSPENDED' ? {} : { suspendedAt: new Date() }) },
    });
    if (before.status !== 'SUSPENDED' || before.suspendedReason !== input.reason) {
      await recordAudit(tx, {
        actor,
        action: 'tenant.suspend',
        tenantId: tenant.id,
        details: { reason: input.reason, ...(before.status === 'SUSPENDED' ? { previousReason: before.suspendedReason } : {}) },
      });
    }
    return tenant;
  });
}

/** Lets a suspended tenant generate again; an active tenant is returned unchanged (and nothing is logged). */
export async function reactivateTenant(db: Db, input: { tenantId: string }, actor: AuditActor): Promise<Tenant> {
  return db.$transaction(async (tx) => {
    const before = await lockTenant(tx, input.tenantId);
    if (before.status === 'ACTIVE') return tx.tenant.findUniqueOrThrow({ where: { id: input.tenantId } });
    const tenant = await tx.tenant.update({
      where: { id: input.tenantId },
      data: { status: 'ACTIVE', suspendedReason: null, suspendedAt: null },
    });
    await recordAudit(tx, {
      actor,
      action: 'tenant.reactivate',
      tenantId: tenant.id,
      details: { suspendedReason: before.suspendedReason, suspendedAt: before.suspendedAt?.toISOString() ?? null },
    });
    return tenant;
  });
}

/** The tenant's status, its row locked until the transaction ends: concurrent changes of status queue behind each other. */
async function lockTenant(tx: Tx, tenantId: string) {
  const rows = await tx.$queryRaw<{ status: TenantStatus; suspendedReason: string | null; suspendedAt: Date | null }[]>(
    sql`SELECT status::text AS status, suspended_reason AS "suspendedReason", suspended_at AS "suspendedAt"
        FROM tenant WHERE id = ${tenantId}::uuid FOR UPDATE`,
  );
  if (!rows[0]) throw new NotFoundError('Tenant not found');
  return rows[0];
}
