// The error policy of the one GraphQL pipeline (server/yoga.ts), the same for
// HTTP, SSE and WebSocket: every error a client sees carries
// `extensions.code`; expected failures keep their message; anything else is
// "Unexpected error." (details outside production only), with no stack or SQL.
import { PothosValidationError } from '@pothos/core';
import { GraphQLError, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import { maskError as yogaMaskError, type Plugin } from 'graphql-yoga';
import { GatewayError } from '../errors.ts';
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
  const code = cause instanceof GatewayError ? cause.code : 'VALIDATION';
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

/** The policy as one function: masks what must be masked, logs what was. */
export function createMasker(options: { production: boolean; logger: Logger }) {
  return (error: unknown): GraphQLError => {
    const masked = maskError(error, UNEXPECTED_ERROR, !options.production) as GraphQLError;
    if (masked.extensions?.['code'] === 'INTERNAL_SERVER_ERROR') options.logger.error({ err: error }, 'unexpected error');
    return masked;
  };
}

export type Masker = ReturnType<typeof createMasker>;

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
