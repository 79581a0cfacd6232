import { CATALOG } from '../catalog.ts';
import type { Task } from '../generated/prisma/client.ts';
import { encodeGlobalID } from '@pothos/plugin-relay';

/**
 * A task as JSON, with the fields of the GraphQL `Task` type (tenant-visible
 * ones only) and the same opaque ids: the body of tenant webhooks.
 */
export function taskPayload(task: Task): Record<string, unknown> {
  return {
    id: encodeGlobalID('Task', task.id),
    model: task.model,
    status: task.status,
    prompt: task.prompt,
    imageUrls: task.imageUrls,
    sourceTask: task.sourceTaskId ? { id: encodeGlobalID('Task', task.sourceTaskId) } : null,
    resultUrls: task.resultUrls,
    creditsCharged: task.creditsCharged,
    refunded: task.refunded,
    errorMessage: task.errorMessage,
    public: task.public,
    createdAt: task.createdAt.toISOString(),
    updatedAt: task.updatedAt.toISOString(),
    completedAt: task.completedAt?.toISOString() ?? null,
  };
}

export function webhookEventType(task: Task): string {
  return task.status === 'SUCCESS' ? 'task.succeeded' : 'task.failed';
}

/**
 * A task as upstream's /status `data` object (shared/upstream/README.md), as
 * the REST facade serves it: the gateway's id, never upstream's; the request
 * as the tenant sent it (`input.task_id` is the tenant's own earlier task);
 * `consumed_credits` what the tenant paid, 0 once refunded.
 */
export function upstreamStatusData(task: Task): Record<string, unknown> {
  // A task still being submitted has its price held: to a client of upstream it is in progress.
  const status = task.status === 'SUBMITTING' ? 'IN_PROGRESS' : task.status;
  const input: Record<string, unknown> = {};
  if (task.prompt !== null) input.prompt = task.prompt;
  if (task.imageUrls.length > 0) input.image_urls = task.imageUrls;
  if (task.sourceTaskId) input.task_id = task.sourceTaskId;
  return {
    task_id: task.id,
    status,
    request: { model: CATALOG[task.model].upstreamName, input },
    response: status === 'SUCCESS' ? { resultUrls: task.resultUrls } : null,
    consumed_credits: status === 'FAILED' || task.refunded ? 0 : task.creditsCharged,
    error_message: status === 'FAILED' ? task.errorMessage : null,
    // Upstream's timestamps have whole seconds.
    created_at: task.createdAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
}

/**
 * The body of a task's webhook. A task asked for through GraphQL gets the
 * Standard Webhooks envelope around its GraphQL fields; one asked for through
 * the REST facade gets what upstream itself POSTs to a callback_url: the
 * /status response body, whose `data` is the status object above.
 */
export function webhookPayload(ended: Task, type: string, at: Date): Record<string, unknown> {
  if (ended.origin === 'REST') return { code: 200, message: 'success', data: upstreamStatusData(ended) };
  return { type, timestamp: at.toISOString(), data: taskPayload(ended) };
}
