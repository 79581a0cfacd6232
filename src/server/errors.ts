// The error policy of the one GraphQL pipeline (server/yoga.ts), the same for
// HTTP, SSE and WebSocket: every error a client sees carries
// `extensions.code`, one of src/errors.ts's ERROR_CODES (the `ErrorCode`
// enum); expected failures keep their message (a VALIDATION error its
// `extensions.field` path); anything else is "Unexpected error." (details
// outside production only), with no stack or SQL.
import { PothosValidationError } from '@pothos/core';
import { GraphQLError, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import { maskError as yogaMaskError, type Plugin } from 'graphql-yoga';
import { GatewayError, type ErrorCode } from '../errors.ts';
import type { Logger } from '../logger.ts';

/** The domain error or Pothos input error behind `error`, if that is what it is. */
function expected(error: unknown): GatewayError | PothosValidationError | null {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current instanceof GatewayError || current instanceof PothosValidationError) return current;
    current = (current as GraphQLError).originalError;
  }
  return null;
}

/** Yoga's `maskedErrors.maskError`: expected failures through with their code; the rest masked. */
export function maskError(error: unknown, message: string, isDev?: boolean): Error {
  const cause = expected(error);
  if (!cause) return yogaMaskError(error, message, isDev);
  const located = error instanceof GraphQLError ? error : null;
  const code: ErrorCode = cause instanceof GatewayError ? cause.code : 'VALIDATION';
  const field = cause instanceof PothosValidationError ? cause.extensions['field'] : undefined;
  return new GraphQLError(cause.message, {
    ...(located ? { nodes: located.nodes, source: located.source, positions: located.positions, path: located.path } : {}),
    extensions: { ...(field === undefined ? {} : { field }), code },
  });
}

/** An error as a client receives it: Yoga's HTTP answers drop its internal extensions, and so does the socket. */
export function formatError(error: GraphQLError): GraphQLFormattedError {
  const formatted = error.toJSON();
  if (!formatted.extensions) return formatted;
  const { http: _http, unexpected: _unexpected, ...extensions } = formatted.extensions;
  const { extensions: _all, ...rest } = formatted;
  return Object.keys(extensions).length > 0 ? { ...rest, extensions } : rest;
}

/** Any thrown value as a GraphQLError (to be masked). */
export function asGraphQLError(error: unknown): GraphQLError {
  if (error instanceof GraphQLError) return error;
  const original = error instanceof Error ? error : new Error(String(error));
  return new GraphQLError(original.message, { originalError: original });
}

export const UNEXPECTED_ERROR = 'Unexpected error.';

/** Longest message a client gets; graphql-js quotes whole literals in some (a 3,000-deep list, say). */
const MAX_MESSAGE_CHARS = 1000;

const SUGGESTION = /\s*Did you mean [^?]*\?/g;

/**
 * graphql-armor hides `Did you mean "field"?`, not graphql-js's other
 * suggestions (`Did you mean the enum value "A" or "B"?`, in validation and
 * in a variable's coercion): in production none of them may say what the
 * schema holds.
 */
export function withoutSuggestions(error: GraphQLError): GraphQLError {
  const message = error.message.replace(SUGGESTION, '');
  return message === error.message ? error : rebuilt(error, message.trim(), { ...error.extensions });
}

/** Production: validation errors name nothing of the schema (execution's go through the masker). */
export function useHiddenSuggestions(): Plugin {
  return {
    onValidate() {
      return ({ valid, result, setResult }) => {
        if (!valid) setResult(result.map((error) => (error instanceof GraphQLError ? withoutSuggestions(error) : error)));
      };
    },
  };
}

function rebuilt(error: GraphQLError, message: string, extensions: Record<string, unknown>): GraphQLError {
  return new GraphQLError(message, { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path, extensions });
}

/**
 * The policy as one function: masks what must be masked, logs what was, and
 * gives every error a code. graphql-js's own errors of a request (a variable
 * of the wrong type, an unknown operation name) carry none: they are the
 * client's input, VALIDATION; one of a field without a code is ours.
 */
export function createMasker(options: { production: boolean; logger: Logger }) {
  return (error: unknown): GraphQLError => {
    let masked = maskError(error, UNEXPECTED_ERROR, !options.production) as GraphQLError;
    if (masked.extensions?.['code'] === undefined) {
      const request = masked.path === undefined;
      masked = rebuilt(masked, request || !options.production ? masked.message : UNEXPECTED_ERROR, {
        ...masked.extensions,
        code: (request ? 'VALIDATION' : 'INTERNAL_SERVER_ERROR') satisfies ErrorCode,
      });
    }
    if (masked.extensions['code'] === 'INTERNAL_SERVER_ERROR') options.logger.error({ err: error }, 'unexpected error');
    if (options.production) masked = withoutSuggestions(masked);
    if (masked.message.length > MAX_MESSAGE_CHARS) {
      masked = rebuilt(masked, `${masked.message.slice(0, MAX_MESSAGE_CHARS - 1)}…`, masked.extensions);
    }
    return masked;
  };
}

export type Masker = ReturnType<typeof createMasker>;

/** Yoga's codes for what the gateway names otherwise (http-server.ts answers a body too large before Yoga does). */
const YOGA_CODES: Record<string, ErrorCode> = { REQUEST_ENTITY_TOO_LARGE: 'PAYLOAD_TOO_LARGE' };

/**
 * Yoga's own errors of an HTTP request (before any execution, so outside the
 * masking plugin below), so that every error of every answer carries a code
 * of ERROR_CODES: the gateway's code for one Yoga names otherwise; for one
 * Yoga gives none, BAD_REQUEST when it is Yoga's verdict on the request (a
 * malformed multipart body) and INTERNAL_SERVER_ERROR when it wraps a failure
 * of ours; and a body of a type no parser takes, which Yoga answers with a
 * bare 415, gets an error saying what to send.
 */
export function useRequestErrorCodes(options: { production: boolean; logger: Logger }): Plugin {
  return {
    onRequestParse({ requestParser, setRequestParser }) {
      if (requestParser) return;
      setRequestParser(() => {
        throw new GraphQLError('Unsupported Content-Type: send application/json, or GET with query parameters', {
          extensions: { code: 'BAD_REQUEST', http: { status: 415 } },
        });
      });
    },
    onResultProcess({ result }) {
      if (Array.isArray(result) || !('errors' in result) || !result.errors) return;
      for (const error of result.errors) {
        const extensions = error.extensions as Record<string, unknown> | undefined;
        if (!extensions) continue;
        const code = extensions['code'];
        if (typeof code === 'string' && YOGA_CODES[code]) extensions['code'] = YOGA_CODES[code];
        if (code !== undefined) continue;
        const ours = error.originalError !== undefined && !(error.originalError instanceof GraphQLError);
        extensions['code'] = (ours ? 'INTERNAL_SERVER_ERROR' : 'BAD_REQUEST') satisfies ErrorCode;
        if (ours) {
          options.logger.error({ err: error.originalError }, 'unexpected error');
          // The masking policy's: no details in production.
          if (options.production) (error as { message: string }).message = UNEXPECTED_ERROR;
        }
        const http = extensions['http'] as { status?: number } | undefined;
        if (!ours && !http?.status) extensions['http'] = { ...http, status: 400 };
      }
    },
  };
}

/** A result with its errors masked (the same object when it has none). */
export function maskResult(result: ExecutionResult, mask: Masker): ExecutionResult {
  return result.errors?.length ? { ...result, errors: result.errors.map(mask) } : result;
}

/**
 * The pipeline's masking, as an envelop plugin: every execution result (a
 * query, a mutation, each subscription event: server/live-subscribe.ts runs
 * events through `execute`) and every failure of the context function. It
 * replaces Yoga's own `maskedErrors`, which wraps every subscription in
 * mapping iterators for its whole life, memory that thousands of live
 * subscriptions would pay for nothing.
 */
export function useErrorMasking(mask: Masker): Plugin {
  const onNext = ({ result, setResult }: { result: ExecutionResult; setResult: (r: ExecutionResult) => void }) =>
    setResult(maskResult(result, mask));
  return {
    onPluginInit({ registerContextErrorHandler }) {
      registerContextErrorHandler(({ error, setError }) => setError(mask(error)));
    },
    onExecute() {
      return {
        onExecuteDone(payload) {
          const { result } = payload;
          if (typeof result === 'object' && result !== null && Symbol.asyncIterator in result) return { onNext };
          onNext(payload as { result: ExecutionResult; setResult: (r: ExecutionResult) => void });
          return undefined;
        },
      };
    },
  };
}
