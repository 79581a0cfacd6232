// A small typed client: queries and mutations over fetch, subscriptions over
// graphql-ws. Every function takes a TypedDocumentNode from the preset, so the
// variables are checked and the result typed, with no hand-written types.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createClient, CloseCode, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { ErrorCode } from './gql/graphql.ts';

/** A top-level error (`errors[]`): its code is a value of the schema's ErrorCode enum (README, "Errors"). */
export interface TopLevelError {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: ErrorCode; retryAfterSeconds?: number; field?: string[] };
}

/** Thrown when a response has top-level errors: what the caller did wrong, or what the gateway refused. */
export class GraphQLRequestError extends Error {
  constructor(readonly status: number, readonly errors: TopLevelError[]) {
    super(errors.map((e) => `${e.extensions?.code ?? '?'}: ${e.message}`).join('; '));
  }
  get code(): ErrorCode | undefined {
    return this.errors[0]?.extensions?.code;
  }
}

/** Variables are optional only when the operation has none required. */
type VariablesArg<V> = Record<string, never> extends V ? [variables?: V] : [variables: V];

export function httpClient(url: string, token: string) {
  return async function request<R, V>(document: TypedDocumentNode<R, V>, ...[variables]: VariablesArg<V>): Promise<R> {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: print(document), variables }),
    });
    // Error statuses (401, 403, 400, 429…) still carry a GraphQL body with errors[].
    const body = (await response.json()) as { data?: R | null; errors?: TopLevelError[] };
    if (body.errors?.length) throw new GraphQLRequestError(response.status, body.errors);
    if (!body.data) throw new GraphQLRequestError(response.status, [{ message: 'no data' }]);
    return body.data;
  };
}

/**
 * A graphql-ws client for the live fields. graphql-ws retries a socket closed
 * with 4403 (Forbidden) by default; the gateway sends 4403 for a missing, bad
 * or revoked key, which will not get better with the same key: so no retry on
 * it. 4400, 4401, 4406, 4409 and 4429 graphql-ws never retries; a dropped
 * connection (1006, 1001…) is retried with its backoff.
 */
export function liveClient(httpUrl: string, token: string, onClosed?: (code: number) => void): Client {
  return createClient({
    url: httpUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket, // Node 20 has no global WebSocket; a browser needs none of this
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 5,
    shouldRetry: (event) => !(isCloseEvent(event) && event.code === CloseCode.Forbidden),
    on: { closed: (event) => isCloseEvent(event) && onClosed?.(event.code) },
  });
}

function isCloseEvent(value: unknown): value is { code: number; reason: string } {
  return typeof value === 'object' && value !== null && 'code' in value && typeof value.code === 'number';
}

/** Each `data` of a subscription, typed by its document, until it completes. */
export async function* subscribe<R, V extends Record<string, unknown>>(
  client: Client,
  document: TypedDocumentNode<R, V>,
  variables: V,
): AsyncGenerator<R> {
  const results = client.iterate<R, Record<string, unknown>>({ query: print(document), variables });
  for await (const result of results) {
    if (result.errors?.length) throw new GraphQLRequestError(0, result.errors as TopLevelError[]);
    if (result.data) yield result.data;
  }
}
