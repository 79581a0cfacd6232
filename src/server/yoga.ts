// The one GraphQL pipeline. HTTP and SSE requests run through this Yoga
// instance; WebSocket operations run through its envelop (`getEnveloped`,
// server/ws-operations.ts): one parse and validation cache, the same
// validation rules (graphql-armor's limits, suggestions hidden in
// production), the same context function, the same error masking and codes
// (server/errors.ts), and the same plugin list. A plugin added here applies
// to all three transports.
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { useGraphQlJit } from '@envelop/graphql-jit';
import {
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  visit,
  type DocumentNode,
  type GraphQLSchema,
  type ValidationContext,
} from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '../auth/principal.ts';
import { clientAddressResolver } from './client-address.ts';
import { authenticate, buildContext, chargeOperation, type AppDeps, type Context, type RequestMeta } from './context.ts';
import { createMasker, useErrorMasking, useHiddenSuggestions, useRequestErrorCodes } from './errors.ts';
import { createGraphiQLRenderer, graphiqlOptions } from './graphiql.ts';
import { useLiveSubscribe } from './live-subscribe.ts';
import { useOperationMetrics } from './metrics-plugin.ts';
import { operationOf } from './operation.ts';
import { useQueryCost } from './query-cost.ts';

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
      const name = operationOf(args.document, args.operationName)?.name;
      if (meta && name) meta.operationName = name;
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

/** Deepest list or object literal a document may hold (`[[[…]]]`, `{a: {b: …}}`). */
const MAX_LITERAL_NESTING = 32;

/** Documents already measured: the parse cache hands the same one back for the same text. */
const nestings = new WeakMap<DocumentNode, number>();

/** How deeply value literals nest in `document`, counted without recursion, once per document. */
function literalNesting(document: DocumentNode): number {
  const known = nestings.get(document);
  if (known !== undefined) return known;
  let depth = 0;
  let deepest = 0;
  const enter = () => {
    depth += 1;
    deepest = Math.max(deepest, depth);
  };
  const leave = () => {
    depth -= 1;
  };
  visit(document, { ListValue: { enter, leave }, ObjectValue: { enter, leave } });
  nestings.set(document, deepest);
  return deepest;
}

/**
 * A document that does not parse is GRAPHQL_PARSE_FAILED on every transport
 * (Yoga names it only for HTTP), a 400. That includes one the parser cannot
 * handle at all: graphql-js parses recursively, so a list literal nested a
 * few thousand deep overflows the stack before any token limit is reached;
 * that is the client's document, not our failure. Literals nested deeper
 * than anyone writes are refused here too, before coercion recurses into them.
 */
function parseErrorCode(): Plugin {
  const refuse = (message: string) =>
    new GraphQLError(`Syntax Error: ${message}`, { extensions: { code: 'GRAPHQL_PARSE_FAILED', http: { status: 400 } } });
  return {
    // Yoga follows the GraphQL-over-HTTP spec's legacy rule and answers a
    // document it could not parse or validate with 200 when the client
    // accepts application/json; the gateway answers 400 whatever it accepts,
    // so a client (or a proxy's error rate) can tell a bad document from data.
    onResultProcess({ result }) {
      if (Array.isArray(result) || !('errors' in result) || !result.errors) return;
      for (const error of result.errors) {
        const code = error.extensions?.['code'];
        if (code !== 'GRAPHQL_PARSE_FAILED' && code !== 'GRAPHQL_VALIDATION_FAILED' && code !== 'QUERY_TOO_COSTLY') continue;
        const http = error.extensions['http'] as { spec?: boolean; status?: number } | undefined;
        (error.extensions as Record<string, unknown>)['http'] = { ...http, spec: false, status: 400 };
      }
    },
    onParse() {
      return ({ result, replaceParseResult }) => {
        if (result instanceof RangeError) {
          replaceParseResult(refuse('document nested too deeply to parse'));
        } else if (result instanceof GraphQLError) {
          (result.extensions as Record<string, unknown>)['code'] ??= 'GRAPHQL_PARSE_FAILED';
        } else if (result && !(result instanceof Error) && literalNesting(result) > MAX_LITERAL_NESTING) {
          replaceParseResult(refuse(`value literals nested deeper than ${MAX_LITERAL_NESTING}`));
        }
      };
    },
  };
}

/** No introspection (GRAPHQL_INTROSPECTION=false, production's default): `__schema` and `__type` fail validation. */
function noIntrospection(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}

/**
 * A GET (or form) request whose `variables` or `extensions` is not JSON:
 * Yoga parses those parameters with a bare JSON.parse, and its SyntaxError
 * became a 500. It is the client's request, answered as Yoga answers a POST
 * body that is not JSON: 400, BAD_REQUEST.
 */
function invalidJsonIsBadRequest(): Plugin {
  return {
    onRequestParse({ requestParser, setRequestParser }) {
      if (!requestParser) return;
      setRequestParser(async (request) => {
        try {
          return await requestParser(request);
        } catch (error) {
          if (!(error instanceof SyntaxError)) throw error;
          throw new GraphQLError(`The request's parameters are not valid JSON: ${error.message}`, {
            extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
          });
        }
      });
    },
  };
}

/**
 * graphql-armor's limits, reported as validation errors (GRAPHQL_VALIDATION_FAILED,
 * 400) rather than thrown out of validation, where they would lose their code;
 * without armor's "Syntax Error: " prefix, which a depth or alias limit is not.
 */
const reported = {
  propagateOnRejection: false,
  onReject: [
    (context: ValidationContext | null, error: GraphQLError) =>
      context?.reportError(
        new GraphQLError(error.message.replace(/^Syntax Error: /, ''), {
          nodes: error.nodes,
          extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
        }),
      ),
  ],
};

export function createGatewayYoga(deps: AppDeps, schema: GraphQLSchema): GatewayYoga {
  const metas = new WeakMap<Request, RequestMeta & { start: number }>();
  const { config } = deps;
  const production = config.env === 'production';
  const mask = createMasker({ production, logger: deps.logger });
  const addressOf = clientAddressResolver(config.trustProxy);
  const { origins, credentials } = config.cors;
  return createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    // server/http-server.ts refuses a body over MAX_BODY_BYTES before Yoga
    // reads it (by its Content-Length; one without is 411), so Yoga's own
    // limit, which pipes every body through a TransformStream (a stream
    // pipeline, an AbortController and a DOMException per request), is off.
    maxRequestBodySize: false,
    // Browsers get CORS headers only for allowed origins (CORS_ORIGINS), never
    // credentials unless CORS_CREDENTIALS: keys travel in a header, not cookies.
    cors: (request) => {
      const origin = request.headers.get('origin');
      if (!origin || !(origins.includes('*') || origins.includes(origin))) return false;
      return {
        origin: [origin],
        credentials,
        methods: ['GET', 'POST'],
        allowedHeaders: ['authorization', 'content-type', 'accept'],
        maxAge: 600,
      };
    },
    // GraphiQL from bundled assets, nothing from another host (server/graphiql.ts).
    graphiql: config.graphql.graphiql ? graphiqlOptions() : false,
    renderGraphiQL: createGraphiQLRenderer(),
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
      // Its hooks cost every request something; below LOG_LEVEL=info no line would be written.
      ...(deps.logger.isLevelEnabled('info') ? [accessLog(deps, metas)] : []),
      useOperationMetrics(deps.metrics),
      parseErrorCode(),
      useRequestErrorCodes({ production, logger: deps.logger }),
      invalidJsonIsBadRequest(),
      ...(config.graphql.introspection ? [] : [noIntrospection()]),
      ...(production ? [useHiddenSuggestions()] : []),
      useErrorMasking(mask),
      useLiveSubscribe(mask),
      EnvelopArmorPlugin({
        maxDepth: { n: config.graphql.maxDepth, ...reported },
        maxAliases: { n: config.graphql.maxAliases, ...reported },
        maxTokens: { n: config.graphql.maxTokens },
        // Our own cost rule instead (server/query-cost.ts): it prices pages by their real size.
        costLimit: { enabled: false },
        maxDirectives: { n: 50, ...reported },
        blockFieldSuggestion: { enabled: production },
      }),
      useQueryCost(config.graphql.maxCost),
      // Queries run as code compiled once per document (graphql-jit): a page
      // of tasks resolves a few hundred fields, and graphql-js's interpreter
      // spent more CPU walking them than the statement behind them cost.
      // Mutations and subscriptions keep graphql-js's executor.
      useGraphQlJit({}, { enableIf: ({ document, operationName }) => operationOf(document, operationName)?.type === 'query' }),
    ],
    // The one context function: a socket's principal was authenticated at
    // connection_init; an HTTP request carries its own Authorization header.
    // Every operation of a tenant, on any transport, takes one from its budget.
    context: async (initial) => {
      if (initial.connection) {
        await chargeOperation(deps, initial.connection.principal);
        return buildContext(deps, initial.connection.principal);
      }
      const meta = metas.get(initial.request) ?? {};
      const address = initial.req ? addressOf(initial.req) : 'unknown';
      const principal = await authenticate(deps.authenticator, initial.request.headers.get('authorization'), address);
      await chargeOperation(deps, principal);
      return buildContext(deps, principal, meta);
    },
  });
}
