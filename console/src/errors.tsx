// Every error the gateway can answer, in words a person can act on. Errors
// come two ways: as members of a mutation's result union (`... on Error`),
// and as top-level GraphQL errors with `extensions.code` (authentication,
// scopes, limits, masked failures), or as no answer at all (network).
import type { CombinedError } from 'urql';
import type { ErrorCode } from './gql/graphql.ts';

/**
 * Keyed by the schema's ErrorCode enum (generated from schema.graphql): a
 * code added to the gateway fails the console's typecheck until it is
 * explained here. NETWORK is the console's own: no answer at all.
 */
export const ERROR_HELP: Record<ErrorCode | 'NETWORK', string> = {
  VALIDATION: 'The input was refused; fix the field named below and try again.',
  NOT_FOUND: 'Nothing with that id exists here (or it belongs to another tenant).',
  IDEMPOTENCY_CONFLICT: 'This request was already made once with other values; nothing was charged twice.',
  INSUFFICIENT_CREDITS: 'The balance does not cover this: top up first.',
  RATE_LIMITED: 'Too many requests: wait a little and try again.',
  SOURCE_NOT_READY: 'The source task has not succeeded yet: pick a finished result.',
  UPSTREAM_UNAVAILABLE: 'The generation service is refusing work right now; nothing was charged.',
  TENANT_SUSPENDED: 'This tenant is suspended: it cannot start generations until reactivated.',
  KEY_LIMIT_EXCEEDED: "This key's credit limit for the period is reached.",
  UNAUTHENTICATED: 'The key or token was not accepted: sign in again.',
  FORBIDDEN: 'This key is not allowed to do that (wrong kind of key, or a missing scope).',
  QUERY_TOO_COSTLY: 'The request asks for too much at once.',
  GRAPHQL_PARSE_FAILED: 'The console sent a request the gateway could not read (a console bug).',
  GRAPHQL_VALIDATION_FAILED: 'The console and the gateway disagree on the schema: rebuild the console.',
  BAD_REQUEST: 'The gateway refused the request as malformed.',
  PAYLOAD_TOO_LARGE: 'The request is too large.',
  LENGTH_REQUIRED: 'The request had no length (a console bug).',
  OPERATION_RESOLUTION_FAILURE: 'The request named no operation the gateway could pick (a console bug).',
  SLOW_CONSUMER: 'This page fell too far behind the live updates; reload it.',
  INTERNAL_SERVER_ERROR: 'The gateway failed; the failure is in its log. Try again.',
  NETWORK: 'The gateway could not be reached.',
};

/** An error member of a result union, as the console's operations select it. */
export interface ResultError {
  __typename: string;
  code: string;
  message: string;
  field?: unknown;
  required?: number;
  available?: number;
  retryAfterSeconds?: number;
  limit?: number;
  period?: string;
  remaining?: number;
}

export interface ShownError {
  code: string;
  message: string;
  details: string[];
}

export function fromResult(error: ResultError): ShownError {
  const details: string[] = [];
  if (error.field !== undefined && error.field !== null) {
    details.push(`Field: ${Array.isArray(error.field) ? error.field.join('.') : String(error.field)}`);
  }
  if (error.required !== undefined) details.push(`Required ${error.required}, available ${error.available ?? '?'}`);
  if (error.retryAfterSeconds !== undefined) details.push(`Retry after ${error.retryAfterSeconds} s`);
  if (error.limit !== undefined) details.push(`Limit ${error.limit} per ${error.period ?? '?'}, ${error.remaining ?? '?'} left`);
  return { code: error.code, message: error.message, details };
}

export function fromCombined(error: CombinedError): ShownError {
  if (error.networkError) return { code: 'NETWORK', message: error.networkError.message, details: [] };
  const first = error.graphQLErrors[0];
  const code = typeof first?.extensions?.['code'] === 'string' ? (first.extensions['code'] as string) : 'INTERNAL_SERVER_ERROR';
  const details = error.graphQLErrors.slice(1).map((e) => e.message);
  return { code, message: first?.message ?? error.message, details };
}

export function ErrorBox(props: { error: ShownError | CombinedError | null | undefined; testId?: string }) {
  const { error } = props;
  if (!error) return null;
  const shown = 'graphQLErrors' in error ? fromCombined(error) : error;
  return (
    <div className="error" role="alert" data-testid={props.testId ?? 'error'} data-code={shown.code}>
      <strong>{shown.code}</strong>: {shown.message}
      <div className="help">{ERROR_HELP[shown.code as ErrorCode] ?? 'Unexpected error.'}</div>
      {shown.details.map((d) => (
        <div key={d} className="detail">
          {d}
        </div>
      ))}
    </div>
  );
}

/** A result union's member: data on success, or the error to show. */
export function unwrap<U extends { __typename?: string }>(
  result: U | null | undefined,
): { data: Extract<U, { data: unknown }>['data'] | null; error: ShownError | null } {
  if (!result) return { data: null, error: null };
  if ('data' in result) return { data: (result as Extract<U, { data: unknown }>).data, error: null };
  return { data: null, error: fromResult(result as unknown as ResultError) };
}
