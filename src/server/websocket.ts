import { GraphQLError, type DocumentNode } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { Server } from 'node:http';
import type { WebSocket } from 'ws';
import { WebSocketServer } from 'ws';
import type { YogaServerInstance } from 'graphql-yoga';
import type { Principal } from '../auth/principal.ts';
import type { AppDeps, Context } from './context.ts';
import { authenticate, buildContext } from './context.ts';
import { createOperationParser, maskErrors, maskResult } from './ws-operations.ts';
import type { ServerContext } from './yoga.ts';

type ConnectionExtra = {
  principal?: Principal | null;
  /** One context per connection, shared by its subscriptions. */
  context?: Context;
};

/** Close codes beyond graphql-ws's own 44xx set. */
export const CLOSE_TOO_MANY_CONNECTIONS = 4429;
export const CLOSE_KEY_REVOKED = 4403;

/**
 * graphql-ws (graphql-transport-ws protocol) on the HTTP server's /graphql
 * path. A connection authenticates once, with `connectionParams.authorization`
 * carrying the same "Bearer <key>" value as the HTTP header; a missing or bad
 * one is refused at connection_init (4403 Forbidden, as graphql-ws does).
 * Operations get the HTTP path's limits and error masking (ws-operations.ts).
 * A revoked key's sockets are closed.
 */
export function attachWebSocket(deps: AppDeps, httpServer: Server, yoga: YogaServerInstance<ServerContext, Context>) {
  const { config } = deps;
  const wss = new WebSocketServer({ server: httpServer, path: yoga.graphqlEndpoint, maxPayload: config.maxBodyBytes });
  const byKey = new Map<string, Set<WebSocket>>();
  const schema = yoga.getEnveloped().schema;
  const parseOperation = createOperationParser(schema, config.graphql);
  const production = config.env === 'production';
  const perTenant = new Map<string, number>();

  const stopListening = deps.authenticator.onRevoke((keyId) => {
    for (const socket of byKey.get(keyId) ?? []) socket.close(CLOSE_KEY_REVOKED, 'API key revoked');
  });

  const disposable = useServer<Record<string, unknown>, ConnectionExtra>(
    {
      onNext: (_ctx, _id, _payload, _args, result) => maskResult(result, production),
      // Errors thrown while iterating a subscription's source arrive here, not in onNext.
      onError: (_ctx, _id, _payload, errors) => maskErrors(errors, production).map((e) => e.toJSON()),
      onConnect: async (ctx) => {
        const raw = ctx.connectionParams?.['authorization'];
        if (typeof raw !== 'string' || raw === '') return false;
        let principal: Principal | null;
        try {
          principal = await authenticate(deps.authenticator, raw);
        } catch {
          return false;
        }
        if (!principal) return false;
        const socket = ctx.extra.socket;
        if (principal.kind === 'tenant') {
          const open = perTenant.get(principal.tenantId) ?? 0;
          if (open >= config.ws.maxConnectionsPerTenant) {
            socket.close(CLOSE_TOO_MANY_CONNECTIONS, `Too many connections for this tenant (max ${config.ws.maxConnectionsPerTenant})`);
            return false;
          }
          perTenant.set(principal.tenantId, open + 1);
          const keyId = principal.keyId;
          const sockets = byKey.get(keyId) ?? new Set<WebSocket>();
          sockets.add(socket);
          byKey.set(keyId, sockets);
          socket.once('close', () => {
            sockets.delete(socket);
            if (sockets.size === 0) byKey.delete(keyId);
            const left = (perTenant.get(principal.tenantId) ?? 1) - 1;
            if (left <= 0) perTenant.delete(principal.tenantId);
            else perTenant.set(principal.tenantId, left);
          });
        }
        ctx.extra.principal = principal;
        ctx.extra.context = buildContext(deps, principal);
        // graphql-ws keeps the upgrade request for the connection's lifetime;
        // nothing here needs it after authentication, and it is kilobytes.
        (ctx.extra as { request?: unknown }).request = undefined;
        return true;
      },
      onSubscribe: async (ctx, _id, payload) => {
        // The new subscription is already counted in ctx.subscriptions.
        if (Object.keys(ctx.subscriptions).length > config.ws.maxSubscriptionsPerConnection) {
          return [
            new GraphQLError(`Too many subscriptions on this connection (max ${config.ws.maxSubscriptionsPerConnection})`, {
              extensions: { code: 'RATE_LIMITED' },
            }),
          ];
        }
        const document = parseOperation(payload.query);
        if (Array.isArray(document)) return document;
        return {
          schema,
          operationName: payload.operationName,
          document: document as DocumentNode,
          variableValues: payload.variables,
          contextValue: ctx.extra.context,
        };
      },
    },
    wss,
    config.ws.keepAliveMs,
  );

  return {
    wss,
    /** Closes every socket with 1001 (going away) and stops accepting new ones. */
    async close(): Promise<void> {
      stopListening();
      for (const client of wss.clients) client.close(1001, 'Server shutting down');
      await disposable.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
