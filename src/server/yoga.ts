// The one GraphQL pipeline. HTTP and SSE requests run through this Yoga
// instance; WebSocket operations run through its envelop (`getEnveloped`,
// server/ws-operations.ts): one parse and validation cache, the same
// validation rules (graphql-armor's limits, suggestions hidden in
// production), the same context function, the same error masking and codes
// (server/errors.ts), and the same plugin list. A plugin added here applies
// to all three transports.
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { getOperationAST, GraphQLError, type GraphQLSchema, type ValidationContext } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '../auth/principal.ts';
import { authenticate, buildContext, type AppDeps, type Context, type RequestMeta } from './context.ts';
import { createMasker, useErrorMasking } from './errors.ts';
import { useLiveSubscribe } from './live-subscribe.ts';

/** What a transport hands the pipeline: node:http's request (HTTP, SSE), or a socket's principal (WebSocket). */
export interface ServerContext {
  req?: IncomingMessage;
  res?: ServerResponse;
  /** A WebSocket operation: its connection authenticated once, at connection_init. */
  connection?: { principal: Principal };
}

export type GatewayYoga = YogaServerInstance<ServerContext, Context>;

/** One access-log line per HTTP request: tenant, operation, status, duration. */
function accessLog(deps: AppDeps, metas: WeakMap<Request, RequestMeta & { start: number }>): Plugin {
  return {
    onRequest({ request }) {
      metas.set(request, { start: performance.now() });
    },
    // The operation's own name, from the document: clients rarely send
    // `operationName` in the body for single-operation documents.
    onExecute({ args }) {
      const meta = (args.contextValue as Partial<Context>).meta;
      const operation = getOperationAST(args.document, args.operationName);
      if (meta && operation?.name) meta.operationName = operation.name.value;
    },
    onResponse({ request, response }) {
      const meta = metas.get(request);
      if (!meta) return;
      const url = new URL(request.url);
      deps.logger.info(
        {
          method: request.method,
          path: url.pathname,
          status: response.status,
          durationMs: Math.round((performance.now() - meta.start) * 10) / 10,
          tenantId: meta.tenantId,
          principal: meta.principal,
          operationName: meta.operationName,
        },
        'request',
      );
    },
  };
}

/** A document that does not parse is GRAPHQL_PARSE_FAILED on every transport (Yoga names it only for HTTP). */
function parseErrorCode(): Plugin {
  return {
    onParse() {
      return ({ result }) => {
        if (result instanceof GraphQLError) (result.extensions as Record<string, unknown>)['code'] ??= 'GRAPHQL_PARSE_FAILED';
      };
    },
  };
}

/**
 * graphql-armor's limits, reported as validation errors (GRAPHQL_VALIDATION_FAILED,
 * 400) rather than thrown out of validation, where they would lose their code.
 */
const reported = {
  propagateOnRejection: false,
  onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(error)],
};

export function createGatewayYoga(deps: AppDeps, schema: GraphQLSchema): GatewayYoga {
  const metas = new WeakMap<Request, RequestMeta & { start: number }>();
  const { config } = deps;
  const production = config.env === 'production';
  const mask = createMasker({ production, logger: deps.logger });
  return createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: production ? false : { title: 'Grok Imagine gateway', subscriptionsProtocol: 'SSE' },
    // Our own masking plugin instead (server/errors.ts): unexpected errors
    // become "Unexpected error." with no stack or SQL; development keeps the
    // original message to speed up debugging.
    maskedErrors: false,
    logging: {
      debug: (...args) => deps.logger.debug({ args }, 'yoga'),
      info: (...args) => deps.logger.info({ args }, 'yoga'),
      warn: (...args) => deps.logger.warn({ args }, 'yoga'),
      error: (...args) => deps.logger.error({ args }, 'yoga'),
    },
    plugins: [
      accessLog(deps, metas),
      parseErrorCode(),
      useErrorMasking(mask),
      useLiveSubscribe(mask),
      EnvelopArmorPlugin({
        maxDepth: { n: config.graphql.maxDepth, ...reported },
        maxAliases: { n: config.graphql.maxAliases, ...reported },
        maxTokens: { n: config.graphql.maxTokens },
        costLimit: { maxCost: config.graphql.maxCost, ...reported },
        maxDirectives: { n: 50, ...reported },
        blockFieldSuggestion: { enabled: production },
      }),
    ],
    // The one context function: a socket's principal was authenticated at
    // connection_init; an HTTP request carries its own Authorization header.
    context: async (initial) => {
      if (initial.connection) return buildContext(deps, initial.connection.principal);
      const meta = metas.get(initial.request) ?? {};
      const principal = await authenticate(deps.authenticator, initial.request.headers.get('authorization'));
      return buildContext(deps, principal, meta);
    },
  });
}
