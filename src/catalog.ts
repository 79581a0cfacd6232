// The catalogue of generation models: for each model the gateway sells, its
// name upstream, what upstream deducts for it, the default price a tenant
// pays, which inputs it takes, and how soon its result is worth asking for.
// Everything that depends on "which model" reads it from here: the ledger
// (prices), the task lifecycle (inputs, polling) and the upstream client
// (model names). It imports nothing of the gateway but the generated enum.
import type { GenerationModel } from './generated/prisma/enums.ts';

export type { GenerationModel };

export const GENERATION_MODELS = ['TEXT_TO_IMAGE', 'TEXT_TO_VIDEO', 'IMAGE_TO_VIDEO', 'UPSCALE'] as const satisfies readonly GenerationModel[];

/** Model names of the upstream contract (../shared/upstream/README.md). */
export const UPSTREAM_MODEL_NAMES = [
  'grok-imagine/text-to-image',
  'grok-imagine/text-to-video',
  'grok-imagine/image-to-video',
  'grok-imagine/upscale',
] as const;

export type UpstreamModelName = (typeof UPSTREAM_MODEL_NAMES)[number];

/** The contract's limit on `input.prompt`, counted in Unicode code points. */
export const MAX_PROMPT_CHARS = 5000;

/** How a model uses an input: it must be given, it may be, or it is not taken. */
export type InputUse = 'required' | 'optional' | 'none';

export interface ModelEntry {
  upstreamName: UpstreamModelName;
  /** Credits upstream deducts when it accepts a task of this model (the contract's table). */
  upstreamCost: number;
  /** What a tenant pays when no price row overrides it: resale at cost until an admin sets prices. */
  defaultPrice: number;
  inputs: {
    prompt: InputUse;
    imageUrls: InputUse;
    /** An earlier task of the same tenant, referenced by the gateway's id. */
    sourceTask: InputUse;
  };
  /** image-to-video and text prompts: exactly one of imageUrls and sourceTask. */
  imageSourceExclusive: boolean;
  /** The source task's result must be an image (image-to-video animates images). */
  sourceMustBeImage: boolean;
  /** What the result is: an image, a video, or whatever the source task's result is. */
  result: 'image' | 'video' | 'source';
  /** First status poll after acceptance: images finish in seconds, videos take longer. */
  firstPollMs: number;
}

export const CATALOG: Readonly<Record<GenerationModel, ModelEntry>> = {
  TEXT_TO_IMAGE: {
    upstreamName: 'grok-imagine/text-to-image',
    upstreamCost: 5,
    defaultPrice: 5,
    inputs: { prompt: 'required', imageUrls: 'none', sourceTask: 'none' },
    imageSourceExclusive: false,
    sourceMustBeImage: false,
    result: 'image',
    firstPollMs: 2000,
  },
  TEXT_TO_VIDEO: {
    upstreamName: 'grok-imagine/text-to-video',
    upstreamCost: 24,
    defaultPrice: 24,
    inputs: { prompt: 'required', imageUrls: 'none', sourceTask: 'none' },
    imageSourceExclusive: false,
    sourceMustBeImage: false,
    result: 'video',
    firstPollMs: 5000,
  },
  IMAGE_TO_VIDEO: {
    upstreamName: 'grok-imagine/image-to-video',
    upstreamCost: 24,
    defaultPrice: 24,
    inputs: { prompt: 'optional', imageUrls: 'optional', sourceTask: 'optional' },
    imageSourceExclusive: true,
    sourceMustBeImage: true,
    result: 'video',
    firstPollMs: 5000,
  },
  UPSCALE: {
    upstreamName: 'grok-imagine/upscale',
    upstreamCost: 12,
    defaultPrice: 12,
    inputs: { prompt: 'none', imageUrls: 'none', sourceTask: 'required' },
    imageSourceExclusive: false,
    sourceMustBeImage: false,
    result: 'source',
    firstPollMs: 2000,
  },
};

export function modelEntry(model: GenerationModel): ModelEntry {
  return CATALOG[model];
}

/** Code points, not UTF-16 units, so an emoji counts once, as a person would count it. */
export function promptLength(prompt: string): number {
  let n = 0;
  for (const _ of prompt) n++;
  return n;
}

/**
 * When to ask upstream again about a task still in progress: starts at the
 * model's first poll (or `initialMs` for every model), grows by half each
 * poll up to `maxMs`, with ±20% jitter so many tasks don't poll in lockstep.
 */
export function pollDelayMs(
  model: GenerationModel,
  attempts: number,
  options: { initialMs?: number | null; maxMs: number },
  random: () => number = Math.random,
): number {
  const initial = options.initialMs ?? CATALOG[model].firstPollMs;
  const base = Math.min(options.maxMs, initial * 1.5 ** Math.max(0, attempts));
  return Math.max(1, Math.round(base * (0.8 + 0.4 * random())));
}
