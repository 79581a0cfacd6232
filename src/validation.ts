import type { z } from 'zod';
import { ValidationError } from './errors.ts';

/**
 * Parses input with a zod schema and turns the first problem into a typed
 * ValidationError naming the field, so callers get `VALIDATION` and a message
 * they can show, never a stack trace.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.join('.') || undefined;
  const message = issue ? (field ? `${field}: ${issue.message}` : issue.message) : 'Invalid input';
  throw new ValidationError(message, field);
}
