// Expected failures of the domain. Each carries a stable `code` that clients
// switch on; the GraphQL layer exposes them as members of mutation result
// unions (schema/errors.ts), or as top-level errors with `extensions.code`
// (server/errors.ts). Anything else is a bug or an outage and is masked
// before it reaches a client.
import { PothosValidationError } from '@pothos/core';

export abstract class GatewayError extends Error {
  abstract readonly code: string;
}

/**
 * Input the gateway will not take. It is the kind of error Pothos itself
 * raises for input it cannot parse (a malformed global id, a bad cursor, a
 * negative `first`), so every input failure, ours or Pothos's, is one
 * `ValidationError` in the schema, with code VALIDATION.
 */
export class ValidationError extends PothosValidationError {
  readonly code = 'VALIDATION';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message, { extensions: { code: 'VALIDATION', ...(field ? { field } : {}) } });
    this.name = 'ValidationError';
  }
}

export class NotFoundError extends GatewayError {
  readonly code = 'NOT_FOUND';
  constructor(message = 'Not found') {
    super(message);
    this.name = 'NotFoundError';
  }
}

export class IdempotencyConflictError extends GatewayError {
  readonly code = 'IDEMPOTENCY_CONFLICT';
  constructor(message = 'This idempotency key was already used with different parameters') {
    super(message);
    this.name = 'IdempotencyConflictError';
  }
}

export class InsufficientCreditsError extends GatewayError {
  readonly code = 'INSUFFICIENT_CREDITS';
  constructor(
    readonly required: number,
    readonly available: number,
  ) {
    super(`Insufficient credits: ${required} required, ${available} available`);
    this.name = 'InsufficientCreditsError';
  }
}

export class RateLimitedError extends GatewayError {
  readonly code = 'RATE_LIMITED';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
    this.name = 'RateLimitedError';
  }
}

export class SourceNotReadyError extends GatewayError {
  readonly code = 'SOURCE_NOT_READY';
  constructor(message = 'The source task has not succeeded') {
    super(message);
    this.name = 'SourceNotReadyError';
  }
}

export class UpstreamUnavailableError extends GatewayError {
  readonly code = 'UPSTREAM_UNAVAILABLE';
  constructor(message: string) {
    super(message);
    this.name = 'UpstreamUnavailableError';
  }
}

export class KeyLimitExceededError extends GatewayError {
  readonly code = 'KEY_LIMIT_EXCEEDED';
  constructor(
    readonly limit: number,
    readonly period: 'DAY' | 'MONTH',
    readonly remaining: number,
  ) {
    super(
      `This API key's credit limit is reached: ${limit} credits per ${period === 'DAY' ? 'UTC day' : 'UTC month'}, ` +
        `${remaining} left in this window; wait for the next one, or use a key with a higher limit`,
    );
    this.name = 'KeyLimitExceededError';
  }
}

export class TenantSuspendedError extends GatewayError {
  readonly code = 'TENANT_SUSPENDED';
  constructor(message = 'This tenant is suspended: it cannot start generations. Its reads and tasks in flight go on; ask the reseller to reactivate it') {
    super(message);
    this.name = 'TenantSuspendedError';
  }
}
