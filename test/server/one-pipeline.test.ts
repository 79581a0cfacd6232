// One GraphQL pipeline for HTTP, SSE and WebSocket (src/server/yoga.ts): the
// same bad operations, sent over each transport to a production gateway,
// get the same errors with the same codes, and never a suggestion.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

let gw: TestGateway;
let key: string;
beforeAll(async () => {
  gw = await startTestGateway({ NODE_ENV: 'production', GRAPHQL_MAX_DEPTH: '6', GRAPHQL_MAX_ALIASES: '3' });
  key = (await gw.createTenant('pipeline', 10)).key;
});
afterAll(async () => {
  await gw?.stop();
});

interface Seen {
  message: string;
  code: unknown;
}

function seen(errors: readonly { message: string; extensions?: Record<string, unknown> }[] | undefined): Seen[] {
  return (errors ?? []).map((e) => ({ message: e.message, code: e.extensions?.['code'] }));
}

async function overHttp(query: string): Promise<Seen[]> {
  const res = await fetch(gw.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query }),
  });
  return seen(((await res.json()) as { errors?: [] }).errors);
}

async function overSse(query: string): Promise<Seen[]> {
  const res = await fetch(gw.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query }),
  });
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  const errors: { message: string; extensions?: Record<string, unknown> }[] = [];
  for (const block of (await res.text()).split('\n\n')) {
    const data = block.split('\n').find((line) => line.startsWith('data: '));
    if (block.includes('event: next') && data) errors.push(...((JSON.parse(data.slice(6)) as { errors?: [] }).errors ?? []));
  }
  return seen(errors);
}

async function overWebSocket(query: string): Promise<Seen[]> {
  const client = createClient({
    url: gw.graphqlUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${key}` },
  });
  try {
    return await new Promise<Seen[]>((resolve, reject) => {
      const errors: Seen[] = [];
      client.subscribe(
        { query },
        {
          // A result with errors (execution), or an `error` message (the operation could not run).
          next: (result) => errors.push(...seen(result.errors as [])),
          error: (error) => (Array.isArray(error) ? resolve(seen(error)) : reject(error)),
          complete: () => resolve(errors),
        },
      );
    });
  } finally {
    await client.dispose();
  }
}

const TRANSPORTS = { HTTP: overHttp, SSE: overSse, WebSocket: overWebSocket } as const;

const CASES: [name: string, query: string, code: string, setup?: () => Promise<() => Promise<void>>][] = [
  ['an unknown field, close to a real one', '{ me { nmae } }', 'GRAPHQL_VALIDATION_FAILED'],
  ['a query deeper than GRAPHQL_MAX_DEPTH', '{ me { tasks { edges { node { sourceTask { sourceTask { sourceTask { id } } } } } } } }', 'GRAPHQL_VALIDATION_FAILED'],
  ['more aliases than GRAPHQL_MAX_ALIASES', '{ a: me { id } b: me { id } c: me { id } d: me { id } e: me { id } }', 'GRAPHQL_VALIDATION_FAILED'],
  ['a document that does not parse', '{ me { id }', 'GRAPHQL_PARSE_FAILED'],
  ['an admin-only field with a tenant key', '{ tenants(first: 1) { edges { node { id } } } }', 'FORBIDDEN'],
  ['a malformed id', '{ task(id: "not-an-id") { id } }', 'VALIDATION'],
  ['a malformed cursor', '{ tasks(first: 1, after: "Zm9v") { edges { node { id } } } }', 'VALIDATION'],
  [
    'an internal error (a table gone under a resolver)',
    '{ webhookDeliveries(first: 1) { edges { node { id } } } }',
    'INTERNAL_SERVER_ERROR',
    async () => {
      await gw.deps.db.$executeRawUnsafe('ALTER TABLE webhook_delivery RENAME TO webhook_delivery_gone');
      return async () => void (await gw.deps.db.$executeRawUnsafe('ALTER TABLE webhook_delivery_gone RENAME TO webhook_delivery'));
    },
  ],
];

describe('the same bad operations over HTTP, SSE and WebSocket (NODE_ENV=production)', () => {
  it.each(CASES)('%s', async (_name, query, code, setup) => {
    const restore = setup ? await setup() : null;
    try {
      const answers: Record<string, Seen[]> = {};
      for (const [transport, send] of Object.entries(TRANSPORTS)) answers[transport] = await send(query);
      expect(answers.HTTP!.length).toBeGreaterThan(0);
      expect(answers.HTTP!.map((e) => e.code)).toContain(code);
      // Identical errors and codes on every transport.
      expect(answers.SSE).toEqual(answers.HTTP);
      expect(answers.WebSocket).toEqual(answers.HTTP);
      const text = JSON.stringify(answers);
      expect(text).not.toMatch(/Did you mean/i);
      expect(text).not.toMatch(/webhook_delivery_gone|prisma|SELECT|stack/i);
      if (code === 'INTERNAL_SERVER_ERROR') expect(answers.HTTP![0]!.message).toBe('Unexpected error.');
    } finally {
      await restore?.();
    }
  });
});
