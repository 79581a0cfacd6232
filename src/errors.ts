// Expected failures of the domain. Each carries a stable `code` that clients
// switch on; the GraphQL layer exposes them as members of mutation result
// unions (schema/errors.ts), or as top-level errors with `extensions.code`
// (server/errors.ts). Anything else is a bug or an outage and is masked
// before it reaches a client.
import { PothosValidationError } from '@pothos/core';

/**
 * Every code a client can see, with when: the `code` of an error member of a
 * mutation's result union, or the `extensions.code` of a top-level error
 * (HTTP, SSE and WebSocket alike). The one list: the GraphQL enum
 * `ErrorCode` is made from it (schema/errors.ts), and
 * test/api/error-conventions.test.ts fails when the source throws a code that
 * is not here, or README's list differs.
 */
export const ERROR_CODES = {
  // Expected failures: members of result unions; top-level where no union catches them.
  VALIDATION: 'Input the gateway will not take (an argument, an id, a cursor, a page size, a variable); `field` is the path to it when known',
  NOT_FOUND: 'No such object, or not one the caller may see',
  IDEMPOTENCY_CONFLICT: 'An idempotency key already used with different parameters',
  INSUFFICIENT_CREDITS: 'The balance cannot cover the price (`required`, `available`)',
  RATE_LIMITED: 'A limit of the tenant, the key, the address or upstream; retry after `retryAfterSeconds`',
  SOURCE_NOT_READY: 'The source task has not succeeded yet',
  UPSTREAM_UNAVAILABLE: 'Upstream failed or is refusing the gateway; nothing was charged',
  KEY_LIMIT_EXCEEDED: "The API key's credit limit for its day or month is reached",
  TENANT_SUSPENDED: 'The tenant is suspended: no new generations',
  // Top-level only.
  UNAUTHENTICATED: 'No credentials, or a missing, unknown, expired or revoked key (HTTP 401)',
  FORBIDDEN: 'Credentials that may not call this field (HTTP 403)',
  BAD_REQUEST: 'A request that is not a GraphQL request: a body or parameters not JSON, no query, a Content-Type other than JSON (415); a method other than GET and POST, a mutation over GET (405)',
  LENGTH_REQUIRED: 'A request body without Content-Length (HTTP 411)',
  PAYLOAD_TOO_LARGE: 'A request body over MAX_BODY_BYTES (HTTP 413)',
  OPERATION_RESOLUTION_FAILURE: 'A document with several operations and no operationName, or without the operation operationName names (HTTP 400)',
  GRAPHQL_PARSE_FAILED: 'A document that does not parse, or over GRAPHQL_MAX_TOKENS (HTTP 400)',
  GRAPHQL_VALIDATION_FAILED: 'A document the schema does not allow, or over GRAPHQL_MAX_DEPTH or GRAPHQL_MAX_ALIASES (HTTP 400)',
  QUERY_TOO_COSTLY: 'A document whose cost is over GRAPHQL_MAX_COST (`maxCost`, `cost`; HTTP 400)',
  SLOW_CONSUMER: 'A subscriber that left more than 1,000 events unread; its subscription ends',
  INTERNAL_SERVER_ERROR: 'Anything unexpected ("Unexpected error."); details only outside production',
} as const satisfies Record<string, string>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const ERROR_CODE_NAMES = Object.keys(ERROR_CODES) as ErrorCode[];

export abstract class GatewayError extends Error {
  abstract readonly code: ErrorCode;
}

/**
 * Input the gateway will not take. It is the kind of error Pothos itself
 * raises for input it cannot parse (a malformed global id), so every input
 * failure, ours or Pothos's, is one `ValidationError` in the schema, with
 * code VALIDATION.
 *
 * Where the value at fault is known, `fieldPath` is its path within the
 * field's arguments, with a mutation's `input` argument left out (its
 * fields are what a form names): `["prompt"]`, `["imageUrls", "0"]`,
 * `["amount"]`; for a query's own arguments the argument: `["after"]`,
 * `["first"]`. GraphQL shows it as `field` (`ValidationError.field`,
 * `extensions.field`); `field` here is the same path dotted, for messages
 * and the REST facade.
 */
export class ValidationError extends PothosValidationError {
  readonly code = 'VALIDATION';
  readonly fieldPath: readonly string[] | undefined;
  readonly field: string | undefined;
  constructor(message: string, field?: string | readonly (string | number)[]) {
    const path = field === undefined ? undefined : typeof field === 'string' ? field.split('.') : field.map(String);
    const known = path && path.length > 0 && path.every((part) => part.length > 0) ? path : undefined;
    super(message, { extensions: { code: 'VALIDATION', ...(known ? { field: known } : {}) } });
    this.name = 'ValidationError';
    this.fieldPath = known;
    this.field = known?.join('.');
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
