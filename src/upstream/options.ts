// Environment configuration of the upstream client. `src/config.ts` is the only
// reader of process.env; it hands the record to `parseUpstreamEnv`.
import { z } from 'zod';

// Parsing helpers: a bad value fails fast with the variable's name in the
// message ("expected number" alone does not tell an operator what to fix).
export type EnvRecord = Record<string, string | undefined>;

/** Blank strings count as unset: `FOO=` in a .env file means "use the default". */
export function envValue(env: EnvRecord, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined) return undefined;
  const trimmed = raw.trim();
  return trimmed === '' ? undefined : trimmed;
}

export function parseEnvVar<T>(env: EnvRecord, name: string, schema: z.ZodType<T>): T {
  const raw = envValue(env, name);
  const result = schema.safeParse(raw);
  if (!result.success) {
    const detail = result.error.issues.map((i) => i.message).join('; ');
    const shown = raw === undefined ? '(unset)' : JSON.stringify(raw);
    throw new Error(`Invalid ${name}=${shown}: ${detail}`);
  }
  return result.data;
}

/** An integer in [min, max] written as a decimal string. */
export function intString(min: number, max: number = Number.MAX_SAFE_INTEGER) {
  return z
    .string()
    .regex(/^-?\d+$/, 'expected an integer')
    .transform(Number)
    .pipe(z.number().int().min(min, `must be >= ${min}`).max(max, `must be <= ${max}`));
}

export const urlString = z
  .string()
  .url('expected an absolute URL')
  .refine((u) => /^https?:\/\//i.test(u), 'expected an http(s) URL');

export const DEFAULT_UPSTREAM_URL = 'https://grok5imagine.com/api';

export interface UpstreamEnv {
  /** Base URL including the `/api` prefix, without a trailing slash. */
  url: string;
  /** Absent means "no real upstream": `npm start` runs the simulator in-process instead. */
  apiKey?: string;
  timeoutMs: number;
  maxConcurrency: number;
  connections: number;
  retryDeadlineMs: number;
}

/** One line per variable, for the README's configuration table. */
export const UPSTREAM_ENV_DOCS: Record<string, string> = {
  UPSTREAM_URL: `Base URL of the Grok Imagine API, including /api (default ${DEFAULT_UPSTREAM_URL}).`,
  UPSTREAM_API_KEY:
    'Bearer key of the reseller account. Unset: npm start runs the simulator in-process and points the client at it.',
  UPSTREAM_TIMEOUT_MS: 'Timeout of one upstream HTTP request, in ms (default 15000).',
  UPSTREAM_MAX_CONCURRENCY: 'Most upstream requests in flight at once; more wait in a queue (default 64).',
  UPSTREAM_CONNECTIONS: 'Keep-alive connections in the upstream pool (default 32).',
  UPSTREAM_RETRY_DEADLINE_MS: 'Total time one call may spend on retries before giving up, in ms (default 30000).',
};

const optionalString = z.string().optional();

export function parseUpstreamEnv(env: EnvRecord): UpstreamEnv {
  const url = parseEnvVar(env, 'UPSTREAM_URL', urlString.optional()) ?? DEFAULT_UPSTREAM_URL;
  const apiKey = parseEnvVar(env, 'UPSTREAM_API_KEY', optionalString);
  const parsed: UpstreamEnv = {
    url: url.replace(/\/+$/, ''),
    timeoutMs: parseEnvVar(env, 'UPSTREAM_TIMEOUT_MS', intString(1, 600_000).optional()) ?? 15_000,
    maxConcurrency: parseEnvVar(env, 'UPSTREAM_MAX_CONCURRENCY', intString(1, 10_000).optional()) ?? 64,
    connections: parseEnvVar(env, 'UPSTREAM_CONNECTIONS', intString(1, 10_000).optional()) ?? 32,
    retryDeadlineMs:
      parseEnvVar(env, 'UPSTREAM_RETRY_DEADLINE_MS', intString(0, 3_600_000).optional()) ?? 30_000,
  };
  if (apiKey !== undefined) parsed.apiKey = apiKey;
  return parsed;
}
