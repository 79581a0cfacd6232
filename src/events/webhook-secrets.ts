// Per-tenant webhook signing secrets. HMAC needs the secret itself, so unlike
// API keys it is stored, not hashed; an admin sees it only in the response to
// a rotation.
import { recordAudit, type AuditActor } from '../audit/log.ts';
import type { Db, Tx } from '../db/client.ts';
import { NotFoundError } from '../errors.ts';
import { generateWebhookSecret } from './webhook-signature.ts';

/**
 * Replaces the tenant's secret and returns the new one: the only time it is
 * shown. Deliveries signed after this (retries included) use the new secret.
 * With an actor (an admin's request), audited in the same transaction.
 */
export async function rotateWebhookSecret(db: Db, tenantId: string, actor?: AuditActor): Promise<{ secret: string; rotatedAt: Date }> {
  const secret = generateWebhookSecret();
  const rotatedAt = new Date();
  return db.$transaction(async (tx) => {
    const { count } = await tx.tenant.updateMany({
      where: { id: tenantId },
      data: { webhookSecret: secret, webhookSecretRotatedAt: rotatedAt },
    });
    if (count === 0) throw new NotFoundError('Tenant not found');
    if (actor) await recordAudit(tx, { actor, action: 'webhookSecret.rotate', tenantId, details: {} });
    return { secret, rotatedAt };
  });
}

/**
 * The secret to sign the tenant's deliveries with, created on first use so a
 * tenant whose admin never rotated still gets signed webhooks (the admin
 * rotates to learn a secret). A lazily created secret leaves
 * `webhookSecretRotatedAt` null: "never shown to anyone".
 */
export async function webhookSecretFor(db: Db | Tx, tenantId: string): Promise<string> {
  const tenant = await db.tenant.findUnique({ where: { id: tenantId }, select: { webhookSecret: true } });
  if (!tenant) throw new NotFoundError('Tenant not found');
  if (tenant.webhookSecret) return tenant.webhookSecret;
  // Conditional on "still none": two processes racing here agree on one secret.
  await db.tenant.updateMany({
    where: { id: tenantId, webhookSecret: null },
    data: { webhookSecret: generateWebhookSecret() },
  });
  const created = await db.tenant.findUnique({ where: { id: tenantId }, select: { webhookSecret: true } });
  if (!created?.webhookSecret) throw new NotFoundError('Tenant not found');
  return created.webhookSecret;
}
