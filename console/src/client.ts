// One urql client per credential: queries and mutations over HTTP POST to
// /graphql, subscriptions over graphql-ws on the same origin and path. Both
// send the credential in the Authorization header / connection params.
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { Client, fetchExchange, subscriptionExchange } from 'urql';

export const GRAPHQL_PATH = '/graphql';

export function webSocketUrl(location: Location): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${GRAPHQL_PATH}`;
}

export interface ConsoleClient {
  client: Client;
  dispose(): void;
}

export function createConsoleClient(credential: string): ConsoleClient {
  const authorization = `Bearer ${credential}`;
  const ws: WsClient = createWsClient({
    url: webSocketUrl(window.location),
    connectionParams: { authorization },
    // Connects on the first subscription, reconnects a few times after a drop.
    lazy: true,
    retryAttempts: 5,
  });
  const client = new Client({
    url: GRAPHQL_PATH,
    // No document cache: what the page shows is the gateway's answer, and a
    // page reads again when something changed (refresh.ts), one read at a time.
    requestPolicy: 'network-only',
    fetchOptions: () => ({ headers: { authorization } }),
    // A read the page no longer needs (it left the view, or asked again) runs
    // to its end and its answer is dropped, instead of being cancelled: an
    // aborted request is indistinguishable from a failed one in the logs.
    fetch: (input, init) => fetch(input, { ...init, signal: null }),
    exchanges: [
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? '' };
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });
  return { client, dispose: () => void ws.dispose() };
}
