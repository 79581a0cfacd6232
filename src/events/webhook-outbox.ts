// The webhook outbox. A delivery row is written by the same statement as the
// status change it announces (tasks/statements.ts composes `outboxStep`): if
// that commits, the webhook will be sent (by webhook-dispatcher.ts, from
// whichever gateway process gets to it first); if it rolls back, there is
// nothing to send. A crash in between loses none.
import { randomUUID } from 'node:crypto';
import { eventsArray, type Store } from '../db/announce.ts';
import type { Db, Tx } from '../db/client.ts';
import type { WebhookDelivery } from '../generated/prisma/client.ts';
import { join, ref, sql, step, withSteps, type Sql, type Step } from '../db/sql.ts';

export interface OutboxInput {
  tenantId: string;
  /** The task it is about; null for a balance event. */
  taskId: string | null;
  /** Checked by `assertPublicUrl` when the task was submitted; re-checked on every send. */
  url: string;
  /** e.g. `task.succeeded`; kept for filtering and display, not added to the body. */
  eventType: string;
  /** The JSON body, sent as is. Dates become ISO strings. */
  payload: Record<string, unknown>;
}

/**
 * The `webhook-id` header of a delivery: `msg_` + its uuid without dashes
 * (the shape Standard Webhooks examples use). The same on every retry, so
 * receivers can deduplicate on it.
 */
export function webhookMessageId(deliveryId: string): string {
  return `msg_${deliveryId.replaceAll('-', '')}`;
}

/** The delivery id behind a `webhook-id`, or null when it is not one of ours. */
export function deliveryIdFromMessageId(msgId: string): string | null {
  const m = /^msg_([0-9a-f]{8})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{12})$/i.exec(msgId);
  return m ? m.slice(1).join('-').toLowerCase() : null;
}

/**
 * A PENDING delivery, due now, written when the step `about` yields a row
 * (e.g. the task whose status just changed). The payload is serialised here
 * exactly as it will be sent: Dates become strings, undefined disappears.
 */
export function outboxStep(name: string, about: Step | null, input: OutboxInput, id: string = randomUUID()): Step {
  return step(
    name,
    sql`INSERT INTO webhook_delivery (id, tenant_id, task_id, url, event_type, payload, status, attempts, next_attempt_at, created_at)
        SELECT ${id}::uuid, ${input.tenantId}::uuid, ${input.taskId}::uuid, ${input.url}, ${input.eventType},
               ${JSON.stringify(input.payload)}::jsonb, 'PENDING', 0, now(), now()
        ${about ? sql`FROM ${ref(about)}` : sql``}
        RETURNING id`,
  );
}

/**
 * The same delivery for the tenant's own endpoint (setWebhookEndpoint,
 * webhook-endpoints.ts), if it has one that wants this event type: its URL
 * is read in the statement, so an endpoint changed a moment before is the
 * one written.
 */
export function endpointOutboxStep(name: string, about: Step | null, input: Omit<OutboxInput, 'url'>): Step {
  return step(
    name,
    sql`INSERT INTO webhook_delivery (id, tenant_id, task_id, url, event_type, payload, status, attempts, next_attempt_at, created_at)
        SELECT gen_random_uuid(), e.tenant_id, ${input.taskId}::uuid, e.url, ${input.eventType},
               ${JSON.stringify(input.payload)}::jsonb, 'PENDING', 0, now(), now()
        FROM webhook_endpoint e ${about ? sql`, ${ref(about)}` : sql``}
        WHERE e.tenant_id = ${input.tenantId}::uuid AND ${input.eventType} = ANY(e.events)
        RETURNING id`,
  );
}

/** The event that wakes every process's dispatcher once the outbox steps' rows commit (null when they wrote none). */
export function webhooksEvent(...outboxes: Step[]): Sql {
  const any = outboxes.map((o) => sql`EXISTS (SELECT 1 FROM ${ref(o)})`);
  return sql`(SELECT jsonb_build_object('type', 'webhooks') WHERE ${join(any, ' OR ')})`;
}

/** Adds a delivery on its own (the dispatcher finds it at its next poll); returns its id. */
export async function enqueueWebhook(db: Db | Tx, input: OutboxInput): Promise<string> {
  const outbox = outboxStep('outbox', null, input);
  const rows = await db.$queryRaw<{ id: string }[]>(withSteps([outbox], sql`SELECT id FROM outbox`));
  return rows[0]!.id;
}

/**
 * Sends a tenant's delivery again, from the start of its schedule: a FAILED
 * or DELIVERED row becomes PENDING, due now, and every process's dispatcher
 * is woken. A PENDING row is on its way already and is left as it is. Its
 * attempt log keeps the earlier attempts. Null when the tenant has no such
 * delivery.
 */
export async function redeliverWebhook(store: Store, tenantId: string, deliveryId: string): Promise<WebhookDelivery | null> {
  const { db, announcer } = store;
  const rows = await db.$queryRaw<{ announced: unknown }[]>(sql`
    WITH d AS (
      UPDATE webhook_delivery SET status = 'PENDING', attempts = 0, next_attempt_at = now(), lease_until = NULL, delivered_at = NULL
      WHERE id = ${deliveryId}::uuid AND tenant_id = ${tenantId}::uuid AND status <> 'PENDING'
      RETURNING id)
    SELECT ${announcer.column(eventsArray([sql`jsonb_build_object('type', 'webhooks')`]))} AS announced FROM d`);
  if (rows[0]) announcer.committed(rows[0].announced);
  return db.webhookDelivery.findFirst({ where: { id: deliveryId, tenantId } });
}
