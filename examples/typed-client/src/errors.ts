// Exhaustive error handling. A new union member or a new ErrorCode in
// schema.graphql makes codegen add it to the generated types, and then these
// switches no longer compile until it is handled (the `never` in default).
import type { ErrorCode, TextToImageMutation } from './gql/graphql.ts';

export function assertNever(value: never, what: string): never {
  throw new Error(`unhandled ${what}: ${JSON.stringify(value)}`);
}

export type TextToImageResult = TextToImageMutation['textToImage'];
export type SubmittedTask = Extract<TextToImageResult, { __typename: 'MutationTextToImageSuccess' }>['data'];

/** The expected failures of textToImage: one branch per member of its result union. */
export function handleTextToImage(result: TextToImageResult): { task: SubmittedTask } | { handled: string } {
  switch (result.__typename) {
    case 'MutationTextToImageSuccess':
      return { task: result.data };
    case 'InsufficientCreditsError':
      return { handled: `${result.code}: top up first (needs ${result.required}, has ${result.available})` };
    case 'RateLimitedError':
      return { handled: `${result.code}: retry in ${result.retryAfterSeconds} s` };
    case 'KeyLimitExceededError':
      return { handled: `${result.code}: key limit ${result.limit} per ${result.period} reached (${result.remaining} left)` };
    case 'ValidationError':
      return { handled: `${result.code}: fix ${result.field?.join('.') ?? 'the input'}: ${result.message}` };
    case 'IdempotencyConflictError':
      return { handled: `${result.code}: that idempotency key was used for another prompt` };
    case 'UpstreamUnavailableError':
      return { handled: `${result.code}: upstream is down, nothing was charged; try later` };
    case 'TenantSuspendedError':
      return { handled: `${result.code}: this tenant is suspended` };
    default:
      return assertNever(result, 'textToImage result');
  }
}

/** What to do about a top-level error (`errors[].extensions.code`), for every code the gateway has. */
export function adviceFor(code: ErrorCode): string {
  switch (code) {
    case 'UNAUTHENTICATED':
      return 'sign in again: the key is missing, unknown, expired or revoked';
    case 'FORBIDDEN':
      return 'this key may not do that (an admin field, or a scope it lacks)';
    case 'RATE_LIMITED':
    case 'SLOW_CONSUMER':
      return 'back off, then retry';
    case 'VALIDATION':
    case 'NOT_FOUND':
      return 'show the message next to the input it names';
    case 'BAD_REQUEST':
    case 'LENGTH_REQUIRED':
    case 'PAYLOAD_TOO_LARGE':
    case 'OPERATION_RESOLUTION_FAILURE':
    case 'GRAPHQL_PARSE_FAILED':
    case 'GRAPHQL_VALIDATION_FAILED':
    case 'QUERY_TOO_COSTLY':
      return 'a bug in the client: the request itself is wrong';
    case 'IDEMPOTENCY_CONFLICT':
    case 'INSUFFICIENT_CREDITS':
    case 'SOURCE_NOT_READY':
    case 'UPSTREAM_UNAVAILABLE':
    case 'KEY_LIMIT_EXCEEDED':
    case 'TENANT_SUSPENDED':
      return 'a business error (these normally come as union members)';
    case 'INTERNAL_SERVER_ERROR':
      return 'report it; retrying may help';
    default:
      return assertNever(code, 'error code');
  }
}
