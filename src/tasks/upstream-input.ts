import type { Task } from '../generated/prisma/client.ts';
import type { UpstreamInputByModel, UpstreamModel } from '../upstream/models.ts';

/** The upstream `input` for a task; a source is referenced by its upstream id, never ours. */
export function upstreamInput(task: Task, sourceUpstreamId: string | null): UpstreamInputByModel[UpstreamModel] {
  const prompt = task.prompt ?? undefined;
  switch (task.model) {
    case 'TEXT_TO_IMAGE':
    case 'TEXT_TO_VIDEO':
      return { prompt: prompt ?? '' };
    case 'IMAGE_TO_VIDEO':
      return sourceUpstreamId
        ? { taskId: sourceUpstreamId, ...(prompt ? { prompt } : {}) }
        : { imageUrls: task.imageUrls, ...(prompt ? { prompt } : {}) };
    case 'UPSCALE':
      return { taskId: sourceUpstreamId ?? '' };
  }
}
