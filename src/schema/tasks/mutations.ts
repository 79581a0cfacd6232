import {
  IdempotencyConflictError,
  InsufficientCreditsError,
  NotFoundError,
  RateLimitedError,
  SourceNotReadyError,
  UpstreamUnavailableError,
  ValidationError,
} from '../../errors.ts';
import type { GenerationModel } from '../../generated/prisma/enums.ts';
import { parseGenerationInput } from '../../tasks/requests.ts';
import { submitGeneration } from '../../tasks/submit.ts';
import { builder } from '../builder.ts';
import type { Context } from '../../server/context.ts';
import { decodeId } from '../ids.ts';
import { TaskRef } from './types.ts';

const GENERATION_ERRORS = [
  ValidationError,
  NotFoundError,
  SourceNotReadyError,
  InsufficientCreditsError,
  IdempotencyConflictError,
  RateLimitedError,
  UpstreamUnavailableError,
];

const common = {
  callbackUrl: { description: 'Your webhook: receives the task, signed, when it ends' },
  public: { description: 'Publish the result to the upstream public gallery' },
  idempotencyKey: { description: 'Unique per tenant: a retry with the same key and input returns the same task and charges once' },
} as const;

const TextInput = (name: string) =>
  builder.inputType(name, {
    fields: (t) => ({
      prompt: t.string({ required: true, description: 'What to generate; at most 5000 characters' }),
      callbackUrl: t.string(common.callbackUrl),
      public: t.boolean(common.public),
      idempotencyKey: t.string(common.idempotencyKey),
    }),
  });

const TextToImageInput = TextInput('TextToImageInput');
const TextToVideoInput = TextInput('TextToVideoInput');

const ImageToVideoInput = builder.inputType('ImageToVideoInput', {
  description: 'Exactly one of imageUrls and sourceTaskId',
  fields: (t) => ({
    imageUrls: t.stringList({ description: 'Public http(s) image URLs' }),
    sourceTaskId: t.id({ description: 'One of your successful image tasks' }),
    prompt: t.string(),
    callbackUrl: t.string(common.callbackUrl),
    public: t.boolean(common.public),
    idempotencyKey: t.string(common.idempotencyKey),
  }),
});

const UpscaleInput = builder.inputType('UpscaleInput', {
  fields: (t) => ({
    sourceTaskId: t.id({ required: true, description: 'One of your successful tasks' }),
    callbackUrl: t.string(common.callbackUrl),
    public: t.boolean(common.public),
    idempotencyKey: t.string(common.idempotencyKey),
  }),
});

/** The one resolver behind all four mutations: parse, authorise the source, submit. */
function generate(model: GenerationModel) {
  return (_root: unknown, { input }: { input: Record<string, unknown> }, ctx: Context) => {
    const request = parseGenerationInput(model, input);
    if (request.sourceTaskId) request.sourceTaskId = decodeId('Task', request.sourceTaskId);
    return submitGeneration(ctx.tasks, ctx.tenantId(), request);
  };
}

const mutations = [
  ['textToImage', 'TEXT_TO_IMAGE', TextToImageInput, 'Generates an image from a prompt'],
  ['textToVideo', 'TEXT_TO_VIDEO', TextToVideoInput, 'Generates a video from a prompt'],
  ['imageToVideo', 'IMAGE_TO_VIDEO', ImageToVideoInput, 'Animates images, or the result of one of your image tasks'],
  ['upscale', 'UPSCALE', UpscaleInput, 'Upscales the result of one of your tasks'],
] as const;

for (const [name, model, input, description] of mutations) {
  builder.mutationField(name, (t) =>
    t.field({
      type: TaskRef,
      description: `${description}. Holds your price at once, charges it when upstream accepts, refunds it if the task fails.`,
      authScopes: { tenant: true },
      errors: { types: GENERATION_ERRORS },
      args: { input: t.arg({ type: input, required: true }) },
      resolve: generate(model),
    }),
  );
}
