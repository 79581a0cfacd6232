// The four generation requests: the rules of their inputs, as zod schemas the
// GraphQL edge applies to each mutation's input (Pothos's validation plugin),
// and the one normalised shape they parse into. The normalised form is also
// what idempotency compares: the same key with another request is a conflict.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { CATALOG, MAX_PROMPT_CHARS, promptLength, type GenerationModel, type InputUse } from '../catalog.ts';
import type { TaskOrigin } from '../generated/prisma/enums.ts';
import { checkUrlSyntax } from '../net/ssrf.ts';

export interface GenerationRequest {
  model: GenerationModel;
  prompt: string | null;
  imageUrls: string[];
  /** The gateway id (uuid) of one of the tenant's own earlier tasks. */
  sourceTaskId: string | null;
  callbackUrl: string | null;
  public: boolean;
  idempotencyKey: string | null;
}

const prompt = z
  .string()
  .refine((p) => p.trim().length > 0, 'must not be empty')
  .refine((p) => promptLength(p) <= MAX_PROMPT_CHARS, `must be at most ${MAX_PROMPT_CHARS} characters`);

/** An image URL upstream will fetch: http(s), and not at a private address (net/url-guard.ts). */
const publicUrl = z.string().transform((raw, ctx) => {
  try {
    return checkUrlSyntax(raw, 'imageUrls').toString();
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

/** A task id argument, already decoded by the relay plugin's globalID input (schema layer). */
const taskRef = z.object({ id: z.string() }).transform((ref) => ref.id);

const common = {
  // Shape only here; where it points is checked after DNS resolution, against
  // the SSRF allow-list, when the request is submitted (net/ssrf.ts).
  callbackUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2048).nullish(),
  public: z.boolean().nullish(),
  idempotencyKey: z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters').nullish(),
};

function normalise(model: GenerationModel) {
  return (v: {
    prompt?: string | null;
    imageUrls?: string[] | null;
    sourceTaskId?: string | null;
    callbackUrl?: string | null;
    public?: boolean | null;
    idempotencyKey?: string | null;
  }): GenerationRequest => ({
    model,
    prompt: v.prompt ?? null,
    imageUrls: v.imageUrls ?? [],
    sourceTaskId: v.sourceTaskId ?? null,
    callbackUrl: v.callbackUrl ?? null,
    public: v.public ?? false,
    idempotencyKey: v.idempotencyKey ?? null,
  });
}

/** An input the model takes, needs, or does not take (then it must be absent). */
function use<T>(how: InputUse, schema: z.ZodType<T, unknown>): z.ZodType<T | null | undefined, unknown> {
  if (how === 'required') return schema;
  if (how === 'optional') return schema.nullish();
  return z.undefined({ error: 'is not taken by this model' }).optional();
}

/** The input rules of one model, from the catalogue: which inputs it takes and which it needs. */
function schemaFor(model: GenerationModel) {
  const { inputs, imageSourceExclusive } = CATALOG[model];
  const object = z.object({
    ...common,
    prompt: use(inputs.prompt, prompt),
    imageUrls: use(inputs.imageUrls, z.array(publicUrl).min(1).max(10)),
    sourceTaskId: use(inputs.sourceTask, taskRef),
  });
  const checked = imageSourceExclusive
    ? object.refine((v) => (v.imageUrls == null) !== (v.sourceTaskId == null), {
        message: 'give exactly one of imageUrls and sourceTaskId',
        path: ['imageUrls'],
      })
    : object;
  return checked.transform(normalise(model));
}

/** Each model's input schema; the schema layer validates (and transforms) each mutation's `input` with it. */
export const GENERATION_INPUTS = {
  TEXT_TO_IMAGE: schemaFor('TEXT_TO_IMAGE'),
  TEXT_TO_VIDEO: schemaFor('TEXT_TO_VIDEO'),
  IMAGE_TO_VIDEO: schemaFor('IMAGE_TO_VIDEO'),
  UPSCALE: schemaFor('UPSCALE'),
} as const satisfies Record<GenerationModel, z.ZodType<GenerationRequest, unknown>>;

/**
 * A stable digest of everything that defines the request except its key. The
 * API it came through is part of a REST request's digest, so an idempotency
 * key reused across the two APIs is a conflict, not a replay in the other
 * API's shape (a GraphQL request's digest is as it always was).
 */
export function requestHash(request: GenerationRequest, origin: TaskOrigin = 'GRAPHQL'): string {
  const { idempotencyKey: _key, ...rest } = request;
  return createHash('sha256').update(JSON.stringify(origin === 'REST' ? { ...rest, origin } : rest)).digest('hex');
}
