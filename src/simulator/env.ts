// Reading SIMULATOR_* variables: a bad value fails fast with the variable's
// name in the message ("expected number" alone does not tell an operator what
// to fix). The simulator is its own program, so it has its own helpers.
import { z } from 'zod';

export type EnvRecord = Record<string, string | undefined>;

/** The trimmed value; blank counts as unset (`FOO=` in a .env file means "use the default"). */
function read(env: EnvRecord, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** Parses one variable with `schema`; throws `Invalid NAME="value": why` when it does not fit. */
export function parseEnvVar<T>(env: EnvRecord, name: string, schema: z.ZodType<T>): T {
  const value = read(env, name);
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const why = result.error.issues.map((issue) => issue.message).join('; ');
  throw new Error(`Invalid ${name}=${value === undefined ? '(unset)' : JSON.stringify(value)}: ${why}`);
}

/** A decimal integer within [min, max]. */
export function intString(min: number, max: number = Number.MAX_SAFE_INTEGER) {
  return z
    .string()
    .regex(/^-?\d+$/, 'expected an integer')
    .transform(Number)
    .pipe(z.number().int().min(min, `must be >= ${min}`).max(max, `must be <= ${max}`));
}

/** A share within [0, 1]. */
export const rateString = z
  .string()
  .regex(/^(\d+(\.\d*)?|\.\d+)$/, 'expected a number between 0 and 1')
  .transform(Number)
  .pipe(z.number().min(0, 'must be >= 0').max(1, 'must be <= 1'));

/** An absolute http(s) URL. */
export const urlString = z
  .string()
  .url('expected an absolute URL')
  .refine((u) => /^https?:\/\//i.test(u), 'expected an http(s) URL');
