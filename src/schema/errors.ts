import { PothosValidationError } from '@pothos/core';
import {
  ERROR_CODES,
  IdempotencyConflictError,
  InsufficientCreditsError,
  NotFoundError,
  RateLimitedError,
  SourceNotReadyError,
  TenantSuspendedError,
  KeyLimitExceededError,
  UpstreamUnavailableError,
  type ErrorCode,
  type ValidationError,
} from '../errors.ts';
import { builder } from './builder.ts';

// `interface Error { message code }` and one object type per expected
// failure; each mutation lists the ones it can return in `errors.types`
// (test/api/error-conventions.test.ts holds the table).

/** Every code the gateway returns, in result unions and top-level errors alike: made from src/errors.ts's one list. */
export const ErrorCodeEnum = builder.enumType('ErrorCode', {
  description:
    'Every code the gateway returns: `Error.code` of a result union member, and `extensions.code` of a top-level error (README, "Errors")',
  values: Object.fromEntries(Object.entries(ERROR_CODES).map(([code, description]) => [code, { description }])) as Record<
    ErrorCode,
    { description: string }
  >,
});

/**
 * The code of an error the schema exposes: its own, or VALIDATION for
 * Pothos's input errors. A code missing from ERROR_CODES fails loudly (the
 * enum cannot serialise it) rather than passing for another.
 */
export function errorCode(error: Error): ErrorCode {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? (code as ErrorCode) : 'VALIDATION';
}

export const ErrorInterface = builder.interfaceRef<Error>('Error').implement({
  fields: (t) => ({
    message: t.exposeString('message'),
    code: t.field({ type: ErrorCodeEnum, resolve: errorCode }),
  }),
});

// Registered for Pothos's own input error, so that a malformed global id or
// cursor (raised by Pothos) and our ValidationError (a subclass) are one type.
builder.objectType(PothosValidationError, {
  name: 'ValidationError',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    field: t.stringList({
      nullable: true,
      description:
        "The path to the value at fault, when known: within the field's arguments, a mutation's `input` left out " +
        '(["prompt"], ["imageUrls", "0"], ["amount"]); a query\'s own argument first (["after"], ["first"])',
      // A property read, not instanceof: the errors plugin hands resolvers a proxy of the error.
      resolve: (error) => {
        const path = (error as Partial<ValidationError>).fieldPath;
        return Array.isArray(path) && path.length > 0 ? [...path] : null;
      },
    }),
  }),
});

builder.objectType(NotFoundError, { name: 'NotFoundError', interfaces: [ErrorInterface] });

builder.objectType(IdempotencyConflictError, { name: 'IdempotencyConflictError', interfaces: [ErrorInterface] });

builder.objectType(InsufficientCreditsError, {
  name: 'InsufficientCreditsError',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    required: t.exposeInt('required'),
    available: t.exposeInt('available'),
  }),
});

builder.objectType(RateLimitedError, {
  name: 'RateLimitedError',
  interfaces: [ErrorInterface],
  fields: (t) => ({ retryAfterSeconds: t.exposeInt('retryAfterSeconds') }),
});

builder.objectType(SourceNotReadyError, { name: 'SourceNotReadyError', interfaces: [ErrorInterface] });

builder.objectType(UpstreamUnavailableError, { name: 'UpstreamUnavailableError', interfaces: [ErrorInterface] });

builder.objectType(TenantSuspendedError, { name: 'TenantSuspendedError', interfaces: [ErrorInterface] });

builder.objectType(KeyLimitExceededError, {
  name: 'KeyLimitExceededError',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    limit: t.exposeInt('limit', { description: "The key's credit limit per period" }),
    period: t.exposeString('period', { description: 'DAY or MONTH (UTC)' }),
    remaining: t.exposeInt('remaining', { description: 'Credits the key may still take in this window' }),
  }),
});

/** The input error type of mutation unions: every ValidationError, ours or Pothos's. */
export const InputError = PothosValidationError;
