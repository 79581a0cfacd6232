import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { GenerationModel } from '../generated/prisma/enums.ts';
import { checkUrlSyntax } from '../net/ssrf.ts';
import { MAX_PROMPT_CHARS, promptLength } from '../upstream/models.ts';
import { parseInput } from '../validation.ts';

// The four generation requests, parsed at the edge into one normalised shape.
// The normalised form is also what idempotency compares: the same key with a
// different normalised request is a conflict.

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

const publicUrl = (field: string) =>
  z.string().transform((raw, ctx) => {
    try {
      return checkUrlSyntax(raw, field).toString();
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });

const common = {
  // Shape only here; where it points is checked after DNS resolution, against
  // the SSRF allow-list, when the request is submitted (net/ssrf.ts).
  callbackUrl: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .max(2048)
    .nullish(),
  public: z.boolean().nullish(),
  idempotencyKey: z.string().min(1).max(200).nullish(),
};

const schemas = {
  TEXT_TO_IMAGE: z.object({ prompt, ...common }),
  TEXT_TO_VIDEO: z.object({ prompt, ...common }),
  IMAGE_TO_VIDEO: z
    .object({
      prompt: prompt.nullish(),
      imageUrls: z.array(publicUrl('imageUrls')).min(1).max(10).nullish(),
      sourceTaskId: z.string().nullish(),
      ...common,
    })
    .refine((v) => (v.imageUrls == null) !== (v.sourceTaskId == null), {
      message: 'give exactly one of imageUrls and sourceTaskId',
      path: ['imageUrls'],
    }),
  UPSCALE: z.object({ sourceTaskId: z.string(), ...common }),
} as const;

/**
 * Validates a mutation's input for `model`. `sourceTaskId` stays as given
 * (an opaque ID); the caller decodes and authorises it.
 */
export function parseGenerationInput(model: GenerationModel, input: Record<string, unknown>): GenerationRequest {
  const v = parseInput(schemas[model] as z.ZodType<Record<string, unknown>>, input) as {
    prompt?: string | null;
    imageUrls?: string[] | null;
    sourceTaskId?: string | null;
    callbackUrl?: string | null;
    public?: boolean | null;
    idempotencyKey?: string | null;
  };
  return {
    model,
    prompt: v.prompt ?? null,
    imageUrls: v.imageUrls ?? [],
    sourceTaskId: v.sourceTaskId ?? null,
    callbackUrl: v.callbackUrl ?? null,
    public: v.public ?? false,
    idempotencyKey: v.idempotencyKey ?? null,
  };
}

/** A stable digest of everything that defines the request except its key. */
export function requestHash(request: GenerationRequest): string {
  const { idempotencyKey: _key, ...rest } = request;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex');
}
