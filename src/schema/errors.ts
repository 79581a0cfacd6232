import {
  GatewayError,
  IdempotencyConflictError,
  InsufficientCreditsError,
  NotFoundError,
  RateLimitedError,
  SourceNotReadyError,
  UpstreamUnavailableError,
  ValidationError,
} from '../errors.ts';
import { builder } from './builder.ts';

// `interface Error { message code }` and one object type per expected
// failure; mutations list the ones they can return in `errors.types`.

export const ErrorInterface = builder.interfaceRef<GatewayError>('Error').implement({
  fields: (t) => ({
    message: t.exposeString('message'),
    code: t.exposeString('code'),
  }),
});

builder.objectType(ValidationError, {
  name: 'ValidationError',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    field: t.exposeString('field', { nullable: true, description: 'The input field at fault, when known' }),
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
