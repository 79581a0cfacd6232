// Simulator configuration: the typed options, the looser forms accepted from
// code and from SIMULATOR_* variables, and their normalisation.
import { z } from 'zod';
import { MODELS, type Model } from './contract.ts';
import { type EnvRecord, intString, parseEnvVar, rateString, urlString } from './env.ts';

export interface LatencyRange {
  minMs: number;
  maxMs: number;
}

export type LatencyByModel = Record<Model, LatencyRange>;

/** `150`, `"50-200"`, `{minMs, maxMs}`, or per model (with an optional `default`) of those. */
export type LatencySpec =
  | number
  | string
  | LatencyRange
  | Partial<Record<Model | 'default', number | string | LatencyRange>>;

export interface SimulatorOptions {
  /** Unset: 0 (any free port) in-process, 4010 for `npm run simulator`. */
  port?: number;
  host: string;
  apiKey: string;
  /** The reseller account's starting balance. */
  credits: number;
  /** Time from creation to completion, per model. */
  latencyMs: LatencyByModel;
  /** Share of tasks that end FAILED (and are refunded). */
  failureRate: number;
  /**
   * Share of tasks refunded after the fact: one that succeeds reports SUCCESS
   * with its credits on its first /status read, and is refunded right after
   * (consumed_credits 0 from then on).
   */
  lateRefundRate: number;
  /** Share of API requests answered 500 (nothing is created or charged). */
  errorRate: number;
  /** Requests per second per API key before 429; 0 turns the limit off. */
  rateLimit: number;
  /** Seed of all randomness; unset means a random seed, reported by the handle. */
  seed?: number;
  /** Origin used in resultUrls when clients reach the simulator by another address. */
  publicUrl?: string;
}

export type SimulatorOptionsInput = Partial<Omit<SimulatorOptions, 'latencyMs'>> & { latencyMs?: LatencySpec };

export const DEFAULT_LATENCY: LatencyRange = { minMs: 50, maxMs: 200 };

export const SIMULATOR_DEFAULTS: Omit<SimulatorOptions, 'port' | 'seed' | 'publicUrl'> = {
  host: '127.0.0.1',
  apiKey: 'sim-key',
  credits: 1_000_000,
  latencyMs: uniformLatency(DEFAULT_LATENCY),
  failureRate: 0,
  lateRefundRate: 0,
  errorRate: 0,
  rateLimit: 0,
};

/** One line per variable, for the README's configuration table. */
export const SIMULATOR_ENV_DOCS: Record<string, string> = {
  SIMULATOR_PORT: 'Port of the simulator (default: 4010 for npm run simulator, any free port in-process).',
  SIMULATOR_HOST: 'Address the simulator binds (default 127.0.0.1).',
  SIMULATOR_API_KEY: 'The one Bearer key the simulator accepts (default sim-key).',
  SIMULATOR_CREDITS: "The simulated reseller account's starting balance (default 1000000).",
  SIMULATOR_LATENCY_MS:
    'Time to completion: N, MIN-MAX, or JSON per model, e.g. {"default":"50-200","grok-imagine/text-to-video":"1000-3000"} (default 50-200).',
  SIMULATOR_FAILURE_RATE: 'Share 0..1 of tasks that end FAILED and are refunded (default 0).',
  SIMULATOR_LATE_REFUND_RATE:
    'Share 0..1 of tasks refunded after the fact: a successful one reports its credits on its first /status read as SUCCESS, then consumed_credits 0 (default 0).',
  SIMULATOR_ERROR_RATE: 'Share 0..1 of API requests answered 500 (default 0).',
  SIMULATOR_RATE_LIMIT: 'Requests per second per key before 429 with Retry-After; 0 is off (default 0).',
  SIMULATOR_SEED: 'Integer seed for deterministic randomness (default: random).',
  SIMULATOR_PUBLIC_URL:
    "Origin used in resultUrls when clients reach the simulator by another address (default: its own; in the gateway's process, PUBLIC_URL/simulator, where the gateway serves the results kept under DATA_DIR/simulator/files).",
};

function uniformLatency(range: LatencyRange): LatencyByModel {
  return Object.fromEntries(MODELS.map((m) => [m, { ...range }])) as LatencyByModel;
}

const rangeSchema = z
  .object({ minMs: z.number().int().min(0), maxMs: z.number().int().min(0) })
  .refine((r) => r.maxMs >= r.minMs, 'maxMs must be >= minMs');

function parseRange(value: number | string | LatencyRange): LatencyRange {
  if (typeof value === 'number') return parseRange({ minMs: value, maxMs: value });
  if (typeof value === 'string') {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(value);
    if (!m) throw new Error(`expected N or MIN-MAX milliseconds, got ${JSON.stringify(value)}`);
    return parseRange({ minMs: Number(m[1]), maxMs: Number(m[2] ?? m[1]) });
  }
  const checked = rangeSchema.safeParse(value);
  if (!checked.success) throw new Error(checked.error.issues.map((i) => i.message).join('; '));
  return checked.data;
}

function isRange(value: object): value is LatencyRange {
  return 'minMs' in value || 'maxMs' in value;
}

/** Accepts every LatencySpec form; throws a plain message on bad input. */
export function normaliseLatency(spec: LatencySpec): LatencyByModel {
  if (typeof spec !== 'object' || isRange(spec)) return uniformLatency(parseRange(spec));
  for (const key of Object.keys(spec)) {
    if (key !== 'default' && !(MODELS as readonly string[]).includes(key)) {
      throw new Error(`unknown model ${JSON.stringify(key)} in latency`);
    }
  }
  const fallback = spec.default === undefined ? DEFAULT_LATENCY : parseRange(spec.default);
  const out = uniformLatency(fallback);
  for (const model of MODELS) {
    const v = spec[model];
    if (v !== undefined) out[model] = parseRange(v);
  }
  return out;
}

const latencyEnvSchema = z.string().transform((raw, ctx): LatencyByModel => {
  try {
    const spec: unknown = raw.startsWith('{') ? JSON.parse(raw) : raw;
    if (typeof spec !== 'string' && (typeof spec !== 'object' || spec === null)) throw new Error('expected N, MIN-MAX or a JSON object');
    return normaliseLatency(spec as LatencySpec);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
    return z.NEVER;
  }
});

/** Parses SIMULATOR_* variables; a bad value throws an error naming the variable. */
export function parseSimulatorEnv(env: EnvRecord): SimulatorOptions {
  const opts: SimulatorOptions = {
    ...SIMULATOR_DEFAULTS,
    host: parseEnvVar(env, 'SIMULATOR_HOST', z.string().optional()) ?? SIMULATOR_DEFAULTS.host,
    apiKey: parseEnvVar(env, 'SIMULATOR_API_KEY', z.string().optional()) ?? SIMULATOR_DEFAULTS.apiKey,
    credits: parseEnvVar(env, 'SIMULATOR_CREDITS', intString(0).optional()) ?? SIMULATOR_DEFAULTS.credits,
    latencyMs: parseEnvVar(env, 'SIMULATOR_LATENCY_MS', latencyEnvSchema.optional()) ?? SIMULATOR_DEFAULTS.latencyMs,
    failureRate: parseEnvVar(env, 'SIMULATOR_FAILURE_RATE', rateString.optional()) ?? 0,
    lateRefundRate: parseEnvVar(env, 'SIMULATOR_LATE_REFUND_RATE', rateString.optional()) ?? 0,
    errorRate: parseEnvVar(env, 'SIMULATOR_ERROR_RATE', rateString.optional()) ?? 0,
    rateLimit:
      parseEnvVar(
        env,
        'SIMULATOR_RATE_LIMIT',
        z.string().regex(/^\d+(\.\d+)?$/, 'expected a number >= 0').transform(Number).optional(),
      ) ?? 0,
  };
  const port = parseEnvVar(env, 'SIMULATOR_PORT', intString(0, 65535).optional());
  if (port !== undefined) opts.port = port;
  const seed = parseEnvVar(env, 'SIMULATOR_SEED', intString(0, 2 ** 32 - 1).optional());
  if (seed !== undefined) opts.seed = seed;
  const publicUrl = parseEnvVar(env, 'SIMULATOR_PUBLIC_URL', urlString.optional());
  if (publicUrl !== undefined) opts.publicUrl = publicUrl.replace(/\/+$/, '');
  return opts;
}

/** Merges code-supplied options over a base, normalising latency. */
export function resolveSimulatorOptions(input: SimulatorOptionsInput, base: SimulatorOptions): SimulatorOptions {
  const { latencyMs, ...rest } = input;
  const merged: SimulatorOptions = { ...base };
  for (const [k, v] of Object.entries(rest)) {
    if (v !== undefined) (merged as unknown as Record<string, unknown>)[k] = v;
  }
  if (latencyMs !== undefined) merged.latencyMs = normaliseLatency(latencyMs);
  for (const key of ['failureRate', 'lateRefundRate', 'errorRate'] as const) {
    const v = merged[key];
    if (!(v >= 0 && v <= 1)) throw new Error(`simulator option ${key} must be within 0..1, got ${v}`);
  }
  if (!(merged.rateLimit >= 0)) throw new Error(`simulator option rateLimit must be >= 0, got ${merged.rateLimit}`);
  if (!(Number.isInteger(merged.credits) && merged.credits >= 0)) throw new Error(`simulator option credits must be a non-negative integer`);
  return merged;
}
