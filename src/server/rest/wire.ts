// The upstream's own API (shared/upstream/README.md) as zod schemas: the
// request bodies the REST facade parses, and the envelopes it answers with.
// The same schemas generate the OpenAPI document (openapi.ts). A parsed
// /generate body then goes through the gateway's own per-model rules
// (GENERATION_INPUTS, the ones GraphQL applies), and every failure is told in
// the upstream's words: `input.prompt`, `input.image_urls`, `callback_url`.
import { z } from 'zod';
import { CATALOG, GENERATION_MODELS, MAX_PROMPT_CHARS, promptLength, UPSTREAM_MODEL_NAMES, type GenerationModel, type UpstreamModelName } from '../../catalog.ts';
import { GENERATION_INPUTS, type GenerationRequest } from '../../tasks/requests.ts';

export const DEFAULT_MODEL: UpstreamModelName = 'grok-imagine/text-to-image';

const MODEL_BY_UPSTREAM_NAME = new Map(GENERATION_MODELS.map((m) => [CATALOG[m].upstreamName, m] as const));

export function gatewayModel(name: UpstreamModelName): GenerationModel {
  return MODEL_BY_UPSTREAM_NAME.get(name)!;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids of the gateway's tasks are uuids: anything else names no task. */
export function isTaskId(id: string): boolean {
  return UUID.test(id);
}

function inputsNote(model: GenerationModel): string {
  const { inputs, upstreamName, imageSourceExclusive } = CATALOG[model];
  const required = Object.entries(inputs).filter(([, use]) => use === 'required').map(([name]) => name);
  return `${upstreamName}: ${required.length ? `needs ${required.join(', ')}` : 'needs nothing more'}${imageSourceExclusive ? ', and exactly one of image_urls and task_id' : ''}`;
}

const wireInput = z
  .object({
    prompt: z
      .string({ error: 'input.prompt must be a string' })
      .refine((p) => promptLength(p) <= MAX_PROMPT_CHARS, {
        error: (issue) => `input.prompt is ${promptLength(issue.input as string)} characters; at most ${MAX_PROMPT_CHARS} are allowed`,
      })
      .nullish()
      .describe(`Text describing what to generate, at most ${MAX_PROMPT_CHARS} characters (code points).`),
    image_urls: z
      .array(z.string({ error: 'input.image_urls must be an array of URL strings' }), { error: 'input.image_urls must be an array of URL strings' })
      .nullish()
      .describe('Public http(s) image URLs, for image-to-video (1 to 10).'),
    task_id: z
      .string({ error: 'input.task_id must be a non-empty string' })
      .nullish()
      .describe('One of your own earlier tasks (the task_id /generate gave you), for upscale or image-to-video.'),
  }, { error: 'input is required and must be an object' })
  .describe(`Which fields depend on the model. ${GENERATION_MODELS.map(inputsNote).join('; ')}.`);

/** POST /api/generate: the upstream's body. Unknown fields are ignored, as upstream ignores them. */
export const generateBody = z.object(
  {
    model: z
      .enum(UPSTREAM_MODEL_NAMES, {
        error: (issue) => `model must be one of ${UPSTREAM_MODEL_NAMES.join(', ')}; got ${JSON.stringify(issue.input)}`,
      })
      .default(DEFAULT_MODEL),
    input: wireInput,
    callback_url: z.string({ error: 'callback_url must be an absolute http(s) URL' }).nullish().describe(
      'Webhook URL: when the task ends it is POSTed the /status response body, signed (Standard Webhooks headers).',
    ),
    public: z.boolean({ error: 'public must be a boolean' }).nullish().describe('Publish the task to the public gallery.'),
  },
  { error: 'request body must be a JSON object' },
);

export type GenerateBody = z.output<typeof generateBody>;

/** POST /api/status body; GET takes the same field as `?task_id=`. */
export const statusBody = z.object(
  { task_id: z.string({ error: 'task_id is required (a string)' }).min(1, 'task_id is required') },
  { error: 'request body must be a JSON object' },
);

const status = z.enum(['IN_PROGRESS', 'SUCCESS', 'FAILED']);

export const generateData = z.object({ task_id: z.string(), status });

export const statusData = z.object({
  task_id: z.string().describe("The gateway's task id."),
  status,
  request: z.object({ model: z.enum(UPSTREAM_MODEL_NAMES), input: wireInput }).describe('A sanitised copy of the submitted payload.'),
  response: z.object({ resultUrls: z.array(z.string()) }).nullable().describe('On SUCCESS, the result URLs.'),
  consumed_credits: z.number().int().min(0).describe('Credits charged for the task (0 once refunded).'),
  error_message: z.string().nullable(),
  created_at: z.string().describe('UTC timestamp, e.g. 2025-06-14T05:21:11Z.'),
});

export function envelope<T extends z.ZodType>(data: T) {
  return z.object({ code: z.literal(200), message: z.literal('success'), data });
}

export const errorEnvelope = z.object({ code: z.number().int(), message: z.string(), data: z.null() });

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

function firstMessage(error: z.ZodError): string {
  return error.issues[0]?.message ?? 'invalid request';
}

export function parseStatusBody(body: unknown): Parsed<string> {
  const parsed = statusBody.safeParse(body);
  return parsed.success ? { ok: true, value: parsed.data.task_id } : { ok: false, message: firstMessage(parsed.error) };
}

/** The wire names of GenerationRequest's fields, for messages. */
const WIRE_FIELD: Record<string, string> = {
  prompt: 'input.prompt',
  imageUrls: 'input.image_urls',
  sourceTaskId: 'input.task_id',
  callbackUrl: 'callback_url',
  public: 'public',
  idempotencyKey: 'the Idempotency-Key header',
};

function wirePath(path: readonly PropertyKey[]): string {
  const [head, ...rest] = path;
  return `${WIRE_FIELD[String(head)] ?? String(head)}${rest.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}`;
}

/**
 * A /generate body, parsed as upstream would, then held to the model's rules
 * (GENERATION_INPUTS): the same GenerationRequest a GraphQL mutation makes.
 */
export function parseGenerateBody(body: unknown, idempotencyKey: string | null): Parsed<GenerationRequest> {
  const wire = generateBody.safeParse(body);
  if (!wire.success) return { ok: false, message: firstMessage(wire.error) };
  const { model: name, input } = wire.data;
  const model = gatewayModel(name);
  // Inputs a model does not take are ignored, as upstream ignores them.
  const takes = CATALOG[model].inputs;
  const candidate = {
    prompt: takes.prompt === 'none' ? undefined : (input.prompt ?? undefined),
    imageUrls: takes.imageUrls === 'none' || !input.image_urls?.length ? undefined : input.image_urls,
    sourceTaskId: takes.sourceTask === 'none' || input.task_id == null ? undefined : { id: input.task_id },
    callbackUrl: wire.data.callback_url ?? undefined,
    public: wire.data.public ?? undefined,
    idempotencyKey: idempotencyKey ?? undefined,
  };
  const parsed = GENERATION_INPUTS[model].safeParse(candidate);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0]!;
  const field = String(issue.path[0] ?? '');
  if (CATALOG[model].imageSourceExclusive && issue.message.startsWith('give exactly one')) {
    return {
      ok: false,
      message:
        candidate.imageUrls || candidate.sourceTaskId
          ? 'give exactly one of input.image_urls and input.task_id'
          : `input.image_urls or input.task_id is required for ${name}`,
    };
  }
  // Absent, or a prompt of nothing but spaces: required, in upstream's words.
  const absent = candidate[field as keyof typeof candidate] === undefined;
  if (absent || (field === 'prompt' && issue.message === 'must not be empty')) {
    return { ok: false, message: `${wirePath(issue.path)} is required for ${name}` };
  }
  return { ok: false, message: `${wirePath(issue.path)} ${issue.message}` };
}
