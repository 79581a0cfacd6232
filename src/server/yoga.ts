import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { getOperationAST, type GraphQLSchema } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { authenticate, buildContext, type AppDeps, type Context, type RequestMeta } from './context.ts';

/** What node:http hands Yoga. (WebSocket operations bypass Yoga: websocket.ts.) */
export interface ServerContext {
  req?: IncomingMessage;
  res?: ServerResponse;
}

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

export function createGatewayYoga(
  deps: AppDeps,
  schema: GraphQLSchema,
): YogaServerInstance<ServerContext, Context> {
  const metas = new WeakMap<Request, RequestMeta & { start: number }>();
  const { config } = deps;
  const production = config.env === 'production';
  return createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: production ? false : { title: 'Grok Imagine gateway', subscriptionsProtocol: 'SSE' },
    // Unexpected errors become "Unexpected error." with no stack or SQL;
    // development keeps the original message to speed up debugging.
    maskedErrors: { isDev: !production },
    logging: {
      debug: (...args) => deps.logger.debug({ args }, 'yoga'),
      info: (...args) => deps.logger.info({ args }, 'yoga'),
      warn: (...args) => deps.logger.warn({ args }, 'yoga'),
      error: (...args) => deps.logger.error({ args }, 'yoga'),
    },
    plugins: [
      accessLog(deps, metas),
      EnvelopArmorPlugin({
        maxDepth: { n: config.graphql.maxDepth },
        maxAliases: { n: config.graphql.maxAliases },
        maxTokens: { n: config.graphql.maxTokens },
        costLimit: { maxCost: config.graphql.maxCost },
        maxDirectives: { n: 50 },
        blockFieldSuggestion: { enabled: production },
      }),
    ],
    context: async (initial) => {
      const meta = ('request' in initial && metas.get(initial.request)) || {};
      const principal = await authenticate(deps.authenticator, initial.request.headers.get('authorization'));
      return buildContext(deps, principal, meta);
    },
  });
}
