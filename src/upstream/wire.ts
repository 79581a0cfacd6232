// Zod schemas for upstream response bodies and their camelCase records.
// Parsing is lenient where the contract is vague (extra fields, nulls for
// absent values) and strict where the gateway depends on a value.
import { z } from 'zod';
import { rendition, unstorableReason } from '../text.ts';

// What the gateway stores of upstream's answers must be storable text
// (src/text.ts): ids and URLs it uses as they are, so one it cannot store is
// a broken answer; messages only for people, so those are kept as a rendition.
const exactText = z.string().min(1).refine((s) => unstorableReason(s) === null, 'is not storable text');
const messageText = z.string().transform((s) => rendition(s, 2000));

export const UPSTREAM_STATUSES = ['IN_PROGRESS', 'SUCCESS', 'FAILED'] as const;
export type UpstreamStatus = (typeof UPSTREAM_STATUSES)[number];

export interface UpstreamGenerateResult {
  taskId: string;
  status: UpstreamStatus;
  /** The status string as upstream sent it. */
  rawStatus: string;
  /** How many HTTP attempts it took. */
  attempts: number;
  /**
   * True when `retryUnsafe` let the client resend after an attempt that may
   * have reached upstream: an orphan task (and charge) may exist beside this one.
   */
  mayHaveDuplicate: boolean;
}

export interface UpstreamTaskRecord {
  taskId: string;
  status: UpstreamStatus;
  /** The status string as upstream sent it; differs from `status` only for unknown values. */
  rawStatus: string;
  /** Upstream's sanitised copy of the submitted payload, as sent. */
  request: Record<string, unknown> | null;
  /** Empty unless SUCCESS. */
  resultUrls: string[];
  consumedCredits: number;
  errorMessage: string | null;
  /** UTC timestamp as upstream sent it (ISO 8601). */
  createdAt: string;
}

/** The contract's envelope; error bodies are expected to look the same but may not. */
export const envelopeSchema = z.looseObject({
  code: z.number().optional(),
  message: z.string().nullish(),
  data: z.unknown().optional(),
});

const generateDataSchema = z.looseObject({
  task_id: exactText,
  status: z.string().min(1),
});

const statusDataSchema = z.looseObject({
  task_id: exactText,
  status: z.string().min(1),
  request: z.record(z.string(), z.unknown()).nullish(),
  response: z.looseObject({ resultUrls: z.array(exactText).nullish() }).nullish(),
  consumed_credits: z.number().int().min(0),
  error_message: messageText.nullish(),
  created_at: z.string(),
});

export type WireStatusData = z.infer<typeof statusDataSchema>;

export function normaliseStatus(raw: string): { status: UpstreamStatus; known: boolean } {
  const known = (UPSTREAM_STATUSES as readonly string[]).includes(raw);
  return { status: known ? (raw as UpstreamStatus) : 'IN_PROGRESS', known };
}

export type ParseOutcome<T> = { ok: true; value: T } | { ok: false; problem: string };

function describe(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

export function parseGenerateBody(body: unknown): ParseOutcome<{ taskId: string; rawStatus: string }> {
  const env = envelopeSchema.safeParse(body);
  if (!env.success) return { ok: false, problem: describe(env.error) };
  const data = generateDataSchema.safeParse(env.data.data);
  if (!data.success) return { ok: false, problem: `data.${describe(data.error)}` };
  return { ok: true, value: { taskId: data.data.task_id, rawStatus: data.data.status } };
}

export function parseStatusBody(body: unknown): ParseOutcome<WireStatusData> {
  const env = envelopeSchema.safeParse(body);
  if (!env.success) return { ok: false, problem: describe(env.error) };
  const data = statusDataSchema.safeParse(env.data.data);
  if (!data.success) return { ok: false, problem: `data.${describe(data.error)}` };
  return { ok: true, value: data.data };
}

export function toTaskRecord(data: WireStatusData, status: UpstreamStatus): UpstreamTaskRecord {
  return {
    taskId: data.task_id,
    status,
    rawStatus: data.status,
    request: data.request ?? null,
    resultUrls: status === 'SUCCESS' ? (data.response?.resultUrls ?? []) : [],
    consumedCredits: data.consumed_credits,
    errorMessage: data.error_message ?? null,
    createdAt: data.created_at,
  };
}

/** Upstream's `message` from an error body, when the body is the envelope. */
export function errorMessageOf(body: unknown): string | undefined {
  const env = envelopeSchema.safeParse(body);
  return env.success && typeof env.data.message === 'string' ? rendition(env.data.message, 2000) : undefined;
}

/** The envelope's own `code`, used when a 2xx body reports an error inside. */
export function envelopeCodeOf(body: unknown): number | undefined {
  const env = envelopeSchema.safeParse(body);
  return env.success ? env.data.code : undefined;
}
