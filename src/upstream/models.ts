// The four upstream models, their credit prices and the input each accepts.
// Prices are the contract's table; the gateway mirrors them in its ledger, so
// they live in one place.

export const UPSTREAM_MODELS = [
  'grok-imagine/text-to-image',
  'grok-imagine/text-to-video',
  'grok-imagine/image-to-video',
  'grok-imagine/upscale',
] as const;

export type UpstreamModel = (typeof UPSTREAM_MODELS)[number];

export const DEFAULT_UPSTREAM_MODEL: UpstreamModel = 'grok-imagine/text-to-image';

export const UPSTREAM_COST: Record<UpstreamModel, number> = {
  'grok-imagine/text-to-image': 5,
  'grok-imagine/text-to-video': 24,
  'grok-imagine/image-to-video': 24,
  'grok-imagine/upscale': 12,
};

/** The contract's limit on `input.prompt`, counted in Unicode code points. */
export const MAX_PROMPT_CHARS = 5000;

export function isUpstreamModel(value: unknown): value is UpstreamModel {
  return typeof value === 'string' && (UPSTREAM_MODELS as readonly string[]).includes(value);
}

/** Code points, not UTF-16 units, so an emoji counts once as a person would count it. */
export function promptLength(prompt: string): number {
  let n = 0;
  for (const _ of prompt) n++;
  return n;
}

export interface TextToImageInput {
  prompt: string;
}

export interface TextToVideoInput {
  prompt: string;
}

/** Either source images or an earlier task whose result is an image. */
export type ImageToVideoInput =
  | { prompt?: string; imageUrls: readonly string[]; taskId?: string }
  | { prompt?: string; imageUrls?: readonly string[]; taskId: string };

export interface UpscaleInput {
  /** An earlier, successful task of the reseller account. */
  taskId: string;
}

export interface UpstreamInputByModel {
  'grok-imagine/text-to-image': TextToImageInput;
  'grok-imagine/text-to-video': TextToVideoInput;
  'grok-imagine/image-to-video': ImageToVideoInput;
  'grok-imagine/upscale': UpscaleInput;
}

export type UpstreamInput = UpstreamInputByModel[UpstreamModel];

/** The wire form of `input`: snake_case, absent fields omitted. */
export interface UpstreamWireInput {
  prompt?: string;
  image_urls?: string[];
  task_id?: string;
}

export function toWireInput(input: UpstreamInput): UpstreamWireInput {
  const wire: UpstreamWireInput = {};
  if ('prompt' in input && input.prompt !== undefined) wire.prompt = input.prompt;
  if ('imageUrls' in input && input.imageUrls !== undefined) wire.image_urls = [...input.imageUrls];
  if ('taskId' in input && input.taskId !== undefined) wire.task_id = input.taskId;
  return wire;
}
