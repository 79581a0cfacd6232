// The webhook outbox. A delivery row is written in the same transaction as
// the status change it announces: if that commits, the webhook will be sent
// (by webhook-dispatcher.ts, from whichever gateway process gets to it first);
// if it rolls back, there is nothing to send. A crash in between loses none.
import { randomUUID } from 'node:crypto';
import type { Db, Tx } from '../db/client.ts';
import type { Prisma } from '../generated/prisma/client.ts';

export interface EnqueueWebhookInput {
  tenantId: string;
  taskId: string;
  /** Already validated with `assertPublicUrl` when the task was submitted; re-checked on every send. */
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

function toJson(payload: Record<string, unknown>): Prisma.InputJsonObject {
  // A round trip through JSON turns Dates into strings and drops undefined,
  // exactly what the receiver will see, and gives Prisma a plain JSON value.
  const json: unknown = JSON.parse(JSON.stringify(payload));
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new TypeError('webhook payload must serialise to a JSON object');
  }
  return json as Prisma.InputJsonObject;
}

/**
 * Adds a PENDING delivery, due now, inside the caller's transaction; returns
 * its id. Call the dispatcher's `kick()` after the transaction commits to send
 * it without waiting for the next poll.
 */
export async function enqueueWebhook(tx: Tx | Db, input: EnqueueWebhookInput): Promise<string> {
  const id = randomUUID();
  await tx.webhookDelivery.create({
    data: {
      id,
      tenantId: input.tenantId,
      taskId: input.taskId,
      url: input.url,
      eventType: input.eventType,
      payload: toJson(input.payload),
    },
  });
  return id;
}
