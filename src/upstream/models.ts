// The input each upstream model accepts, typed for the client, and its wire
// form. Which models exist, what they cost and the prompt limit are the
// catalogue's (src/catalog.ts); this module only re-exports the names the
// client's callers need.
import type { UpstreamModelName } from '../catalog.ts';

export { MAX_PROMPT_CHARS, promptLength, UPSTREAM_MODEL_NAMES, type UpstreamModelName } from '../catalog.ts';

/** An upstream model name; kept as the client's name for the catalogue's type. */
export type UpstreamModel = UpstreamModelName;

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
