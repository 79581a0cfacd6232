// Every failure of the REST facade as the upstream's status code and
// envelope ({"code", "message", "data": null}), so a client written against
// upstream decides by status exactly as it would there:
//   400 invalid input   401 key missing, bad, expired or revoked
//   402 credits (the tenant's balance, or its key's credit limit)
//   403 a key that may not do this, or a suspended tenant
//   404 no such task (of this tenant)   429 a limit, with Retry-After
//   500 a transient failure, or upstream unavailable (the message says so)
import { GraphQLError } from 'graphql';
import {
  IdempotencyConflictError,
  InsufficientCreditsError,
  KeyLimitExceededError,
  NotFoundError,
  RateLimitedError,
  SourceNotReadyError,
  TenantSuspendedError,
  UpstreamUnavailableError,
  ValidationError,
} from '../../errors.ts';

export class RestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'RestError';
  }
}

/** A typed failure of the gateway as the upstream's status; null for one that is not expected (a bug or an outage). */
export function toRestError(error: unknown): RestError | null {
  if (error instanceof RestError) return error;
  if (error instanceof ValidationError) return new RestError(400, error.message);
  if (error instanceof IdempotencyConflictError) {
    return new RestError(400, 'This Idempotency-Key was already used for a different generation request');
  }
  if (error instanceof SourceNotReadyError) return new RestError(400, error.message);
  if (error instanceof InsufficientCreditsError) return new RestError(402, error.message);
  if (error instanceof KeyLimitExceededError) return new RestError(402, error.message);
  if (error instanceof TenantSuspendedError) return new RestError(403, error.message);
  if (error instanceof NotFoundError) return new RestError(404, error.message);
  if (error instanceof RateLimitedError) return new RestError(429, error.message, error.retryAfterSeconds);
  if (error instanceof UpstreamUnavailableError) {
    return new RestError(500, error.message.startsWith('Upstream unavailable') ? error.message : `Upstream unavailable: ${error.message}`);
  }
  // authenticate() and chargeOperation() speak GraphQL: their codes carry over.
  if (error instanceof GraphQLError) {
    const code = error.extensions.code;
    if (code === 'UNAUTHENTICATED') return new RestError(401, error.message);
    if (code === 'RATE_LIMITED') return new RestError(429, error.message, Number(error.extensions.retryAfterSeconds) || 1);
  }
  return null;
}
