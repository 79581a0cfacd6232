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
