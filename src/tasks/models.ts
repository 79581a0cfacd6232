import type { GenerationModel } from '../generated/prisma/enums.ts';
import { UPSTREAM_COST, type UpstreamModel } from '../upstream/models.ts';

/** The gateway's model enum and upstream's model names, one to one. */
export const UPSTREAM_MODEL: Record<GenerationModel, UpstreamModel> = {
  TEXT_TO_IMAGE: 'grok-imagine/text-to-image',
  TEXT_TO_VIDEO: 'grok-imagine/text-to-video',
  IMAGE_TO_VIDEO: 'grok-imagine/image-to-video',
  UPSCALE: 'grok-imagine/upscale',
};

/** What upstream deducts for one task of this model. */
export function upstreamCost(model: GenerationModel): number {
  return UPSTREAM_COST[UPSTREAM_MODEL[model]];
}

/**
 * When to ask upstream again about a task still in progress: images finish in
 * seconds, videos take longer, so videos start slower. Grows by half each
 * poll up to `maxMs`, with ±20% jitter so many tasks don't poll in lockstep.
 */
export function pollDelayMs(
  model: GenerationModel,
  attempts: number,
  options: { initialMs?: number | null; maxMs: number },
  random: () => number = Math.random,
): number {
  const initial = options.initialMs ?? (model === 'TEXT_TO_IMAGE' || model === 'UPSCALE' ? 2000 : 5000);
  const base = Math.min(options.maxMs, initial * 1.5 ** Math.max(0, attempts));
  return Math.max(1, Math.round(base * (0.8 + 0.4 * random())));
}
