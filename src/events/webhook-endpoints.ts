// A tenant's own webhook endpoint (setWebhookEndpoint): one URL that receives
// the events it names, besides any task's callbackUrl. Task events are
// written to the outbox by the lifecycle's statements (endpointOutboxStep in
// webhook-outbox.ts); balance events by balance-alerts.ts. Deliveries are
// signed with the tenant's secret and retried like every other.
import { recordAudit, type AuditActor } from '../audit/log.ts';
import type { Store } from '../db/announce.ts';
import { NotFoundError } from '../errors.ts';
import type { WebhookEndpoint } from '../generated/prisma/client.ts';
import { assertPublicUrl, type SsrfPolicy } from '../net/ssrf.ts';
import { checkBalanceAlert } from './balance-alerts.ts';

/** The events an endpoint may ask for, by the name deliveries carry in `eventType` and in their body's `type`. */
export const WEBHOOK_EVENTS = ['task.succeeded', 'task.failed', 'balance.low', 'balance.recovered'] as const;
export type WebhookEventName = (typeof WEBHOOK_EVENTS)[number];

/**
 * Sets (or replaces) the tenant's endpoint. The URL is checked like a
 * callbackUrl (public, http(s)) now and again on every send. An empty
 * `events` list keeps the endpoint but sends it nothing. Audited in the same
 * transaction. A balance already low is announced (balance.low) at once.
 */
export async function setWebhookEndpoint(
  store: Store,
  input: { tenantId: string; url: string; events: readonly WebhookEventName[] },
  deps: { ssrfPolicy: SsrfPolicy; actor: AuditActor },
): Promise<WebhookEndpoint> {
  await assertPublicUrl(input.url, 'url', deps.ssrfPolicy);
  const events = WEBHOOK_EVENTS.filter((e) => input.events.includes(e));
  const endpoint = await store.db.$transaction(async (tx) => {
    const tenant = await tx.tenant.findUnique({ where: { id: input.tenantId }, select: { id: true } });
    if (!tenant) throw new NotFoundError('Tenant not found');
    const now = new Date();
    const endpoint = await tx.webhookEndpoint.upsert({
      where: { tenantId: input.tenantId },
      create: { tenantId: input.tenantId, url: input.url, events, createdAt: now, updatedAt: now },
      update: { url: input.url, events, updatedAt: now },
    });
    // The URL without its query: receivers often put a token there, and the audit log keeps no secret.
    const { origin, pathname } = new URL(input.url);
    await recordAudit(tx, { actor: deps.actor, action: 'webhookEndpoint.set', tenantId: input.tenantId, details: { url: origin + pathname, events } });
    return endpoint;
  });
  // An endpoint that now wants balance events hears at once if the balance is low already.
  await checkBalanceAlert(store, input.tenantId);
  return endpoint;
}
