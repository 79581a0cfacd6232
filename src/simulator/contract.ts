// The simulator's own reading of the Grok Imagine contract
// (shared/upstream/README.md): the models, what each one deducts, the prompt
// limit and what each model needs in `input`. It is written from that page and
// shares nothing with the gateway's client or catalogue on purpose: the
// client's contract tests run against this program, so a misreading on either
// side fails a test instead of agreeing with itself.

/** `model`: the four values the page lists for POST /generate. */
export const MODELS = [
  'grok-imagine/text-to-image',
  'grok-imagine/text-to-video',
  'grok-imagine/image-to-video',
  'grok-imagine/upscale',
] as const;

export type Model = (typeof MODELS)[number];

/** `model` is optional; the page marks text-to-image as the default. */
export const DEFAULT_MODEL: Model = 'grok-imagine/text-to-image';

export function isModel(value: unknown): value is Model {
  return MODELS.some((m) => m === value);
}

/** "Credits are deducted when the task is created": the page's table. */
export const CREDITS: Readonly<Record<Model, number>> = {
  'grok-imagine/text-to-image': 5,
  'grok-imagine/text-to-video': 24,
  'grok-imagine/image-to-video': 24,
  'grok-imagine/upscale': 12,
};

/** `input.prompt`: "string, at most 5000 characters". */
export const MAX_PROMPT_CHARS = 5000;

/** Characters as a person counts them: Unicode code points, so an emoji is one. */
export function promptChars(prompt: string): number {
  return Array.from(prompt).length;
}

/** What a model needs in `input`, and what its result is. */
export interface ModelRules {
  /** "required for text-to-image and text-to-video". */
  needsPrompt: boolean;
  /** image-to-video: `image_urls`, or an earlier task's id whose result is an image. */
  needsImageSource: boolean;
  /** upscale works on an earlier task, named by `input.task_id`. */
  needsTaskId: boolean;
  /** What the result files are; `source` means whatever the referenced task produced. */
  result: 'image' | 'video' | 'source';
}

export const RULES: Readonly<Record<Model, ModelRules>> = {
  'grok-imagine/text-to-image': { needsPrompt: true, needsImageSource: false, needsTaskId: false, result: 'image' },
  'grok-imagine/text-to-video': { needsPrompt: true, needsImageSource: false, needsTaskId: false, result: 'video' },
  'grok-imagine/image-to-video': { needsPrompt: false, needsImageSource: true, needsTaskId: false, result: 'video' },
  'grok-imagine/upscale': { needsPrompt: false, needsImageSource: false, needsTaskId: true, result: 'source' },
};

/** `input` as it arrives on the wire (snake_case), after validation; absent fields omitted. */
export interface WireInput {
  prompt?: string;
  image_urls?: string[];
  task_id?: string;
}
