import {
  IdempotencyConflictError,
  InsufficientCreditsError,
  KeyLimitExceededError,
  NotFoundError,
  RateLimitedError,
  SourceNotReadyError,
  TenantSuspendedError,
  UpstreamUnavailableError,
} from '../../errors.ts';
import type { GenerationModel } from '../../generated/prisma/enums.ts';
import { GENERATION_INPUTS, type GenerationRequest } from '../../tasks/requests.ts';
import { submitGeneration } from '../../tasks/submit.ts';
import type { Context } from '../../server/context.ts';
import { builder } from '../builder.ts';
import { InputError } from '../errors.ts';
import { TaskRef } from './types.ts';

// What every generation can return: its input, the tenant's balance, limits
// and state (tasks/lifecycle.ts's submit), an idempotency key reused, and
// upstream's answer (tasks/submit.ts).
const OUTCOMES = [
  InsufficientCreditsError,
  IdempotencyConflictError,
  RateLimitedError,
  UpstreamUnavailableError,
  TenantSuspendedError,
  KeyLimitExceededError,
];
const GENERATION_ERRORS = [InputError, ...OUTCOMES];

// A generation from one of the tenant's tasks can also find no such task, or
// one that has not succeeded (tasks/submit.ts's resolveSource).
const FROM_SOURCE_ERRORS = [InputError, NotFoundError, SourceNotReadyError, ...OUTCOMES];

// Each input is parsed by its model's rules (tasks/requests.ts) into one
// normalised GenerationRequest before the resolver runs; source tasks are
// global ids of the caller's tasks, decoded by the relay plugin.
const common = {
  callbackUrl: { description: 'Your webhook: receives the task, signed, when it ends' },
  public: { description: 'Publish the result to the upstream public gallery' },
  idempotencyKey: { description: 'Unique per tenant: a retry with the same key and input returns the same task and charges once' },
} as const;

const TextInput = (name: string, model: 'TEXT_TO_IMAGE' | 'TEXT_TO_VIDEO') =>
  builder
    .inputType(name, {
      fields: (t) => ({
        prompt: t.string({ required: true, description: 'What to generate; at most 5000 characters' }),
        callbackUrl: t.string(common.callbackUrl),
        public: t.boolean(common.public),
        idempotencyKey: t.string(common.idempotencyKey),
      }),
    })
    .validate(GENERATION_INPUTS[model]);

const TextToImageInput = TextInput('TextToImageInput', 'TEXT_TO_IMAGE');
const TextToVideoInput = TextInput('TextToVideoInput', 'TEXT_TO_VIDEO');

const ImageToVideoInput = builder
  .inputType('ImageToVideoInput', {
    description: 'Exactly one of imageUrls and sourceTaskId',
    fields: (t) => ({
      imageUrls: t.stringList({ description: 'Public http(s) image URLs' }),
      sourceTaskId: t.globalID({ for: TaskRef, description: 'One of your successful image tasks' }),
      prompt: t.string(),
      callbackUrl: t.string(common.callbackUrl),
      public: t.boolean(common.public),
      idempotencyKey: t.string(common.idempotencyKey),
    }),
  })
  .validate(GENERATION_INPUTS.IMAGE_TO_VIDEO);

const UpscaleInput = builder
  .inputType('UpscaleInput', {
    fields: (t) => ({
      sourceTaskId: t.globalID({ required: true, for: TaskRef, description: 'One of your successful tasks' }),
      callbackUrl: t.string(common.callbackUrl),
      public: t.boolean(common.public),
      idempotencyKey: t.string(common.idempotencyKey),
    }),
  })
  .validate(GENERATION_INPUTS.UPSCALE);

const mutations = [
  ['textToImage', 'TEXT_TO_IMAGE', TextToImageInput, GENERATION_ERRORS, 'Generates an image from a prompt'],
  ['textToVideo', 'TEXT_TO_VIDEO', TextToVideoInput, GENERATION_ERRORS, 'Generates a video from a prompt'],
  ['imageToVideo', 'IMAGE_TO_VIDEO', ImageToVideoInput, FROM_SOURCE_ERRORS, 'Animates images, or the result of one of your image tasks'],
  ['upscale', 'UPSCALE', UpscaleInput, FROM_SOURCE_ERRORS, 'Upscales the result of one of your tasks'],
] as const;

for (const [name, model, input, errors, description] of mutations) {
  builder.mutationField(name, (t) =>
    t.field({
      type: TaskRef,
      description: `${description}. Holds your price at once, charges it when upstream accepts, refunds it if the task fails.`,
      authScopes: { generate: true },
      errors: { types: errors },
      args: { input: t.arg({ type: input, required: true }) },
      resolve: (_root: unknown, args: { input: GenerationRequest }, ctx: Context) => {
        if (args.input.model !== (model satisfies GenerationModel)) throw new Error(`${name} got a ${args.input.model} request`);
        return submitGeneration(ctx.tasks, { tenantId: ctx.tenantId(), keyId: ctx.principal?.keyId ?? null }, args.input);
      },
    }),
  );
}
