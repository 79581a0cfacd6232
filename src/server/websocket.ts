import type { ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { Server } from 'node:http';
import { WebSocketServer } from 'ws';
import type { Principal } from '../auth/principal.ts';
import type { AppDeps, Context } from './context.ts';
import { authenticate } from './context.ts';
import type { ServerContext } from './yoga.ts';
import type { YogaServerInstance } from 'graphql-yoga';

type Enveloped = ReturnType<YogaServerInstance<ServerContext, Context>['getEnveloped']>;

type ConnectionExtra = {
  principal?: Principal | null;
};

/**
 * graphql-ws (graphql-transport-ws protocol) on the HTTP server's /graphql
 * path. A connection authenticates once, with `connectionParams.authorization`
 * carrying the same "Bearer <key>" value as the HTTP header; a missing or bad
 * one is refused at connection_init (close 4403). Operations then run through
 * Yoga's envelop, so they get the same plugins, limits and context as HTTP.
 */
export function attachWebSocket(deps: AppDeps, httpServer: Server, yoga: YogaServerInstance<ServerContext, Context>) {
  const wss = new WebSocketServer({ server: httpServer, path: yoga.graphqlEndpoint, maxPayload: deps.config.maxBodyBytes });

  const disposable = useServer<Record<string, unknown>, ConnectionExtra>(
    {
      execute: (args) => (args.rootValue as Enveloped).execute(args as ExecutionArgs),
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args as ExecutionArgs),
      onConnect: async (ctx) => {
        const raw = ctx.connectionParams?.['authorization'];
        if (typeof raw !== 'string' || raw === '') return false;
        try {
          ctx.extra.principal = await authenticate(deps.authenticator, raw);
        } catch {
          return false;
        }
        return ctx.extra.principal !== null;
      },
      onSubscribe: async (ctx, _id, payload) => {
        const enveloped = yoga.getEnveloped({ wsPrincipal: ctx.extra.principal ?? null });
        const document = enveloped.parse(payload.query);
        const args = {
          schema: enveloped.schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue: await enveloped.contextFactory(),
          rootValue: enveloped,
        };
        const errors = enveloped.validate(args.schema, args.document);
        if (errors.length > 0) return errors;
        return args;
      },
    },
    wss,
  );

  return {
    wss,
    /** Closes every socket with 1001 (going away) and stops accepting new ones. */
    async close(): Promise<void> {
      for (const client of wss.clients) client.close(1001, 'Server shutting down');
      await disposable.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
