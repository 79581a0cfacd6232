import { PothosValidationError } from '@pothos/core';
import {
  IdempotencyConflictError,
  InsufficientCreditsError,
  NotFoundError,
  RateLimitedError,
  SourceNotReadyError,
  TenantSuspendedError,
  KeyLimitExceededError,
  UpstreamUnavailableError,
  type ValidationError,
} from '../errors.ts';
import { builder } from './builder.ts';

// `interface Error { message code }` and one object type per expected
// failure; mutations list the ones they can return in `errors.types`.

/** The code of an error the schema exposes: its own, or VALIDATION for Pothos's input errors. */
export function errorCode(error: Error): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : 'VALIDATION';
}

export const ErrorInterface = builder.interfaceRef<Error>('Error').implement({
  fields: (t) => ({
    message: t.exposeString('message'),
    code: t.string({ resolve: errorCode }),
  }),
});

// Registered for Pothos's own input error, so that a malformed global id or
// cursor (raised by Pothos) and our ValidationError (a subclass) are one type.
builder.objectType(PothosValidationError, {
  name: 'ValidationError',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    field: t.string({
      nullable: true,
      description: 'The input field at fault, when known',
      // A property read, not instanceof: the errors plugin hands resolvers a proxy of the error.
      resolve: (error) => {
        const field = (error as Partial<ValidationError>).field;
        return typeof field === 'string' ? field : null;
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
