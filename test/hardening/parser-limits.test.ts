// Finding 6 of the hardening issue: a list literal nested 3,000 deep gave a
// 500 ("Maximum call stack size exceeded"). Any document the parser cannot
// handle is now a 400 with a GraphQL error, on every transport; so are
// literals nested deeper than anyone writes, and variables of the wrong shape.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { TRANSPORTS } from '../helpers/transports.ts';

let gw: TestGateway;
let key: string;
beforeAll(async () => {
  // A generous token limit, so the nesting itself is what is refused.
  gw = await startTestGateway({ NODE_ENV: 'production', GRAPHQL_MAX_TOKENS: '100000' });
  key = (await gw.createTenant('parser', 10)).key;
});
afterAll(async () => {
  await gw?.stop();
});

const DOCUMENTS: [name: string, query: string, code: string][] = [
  ['a list literal nested 3,000 deep', `{ tasks(first: ${'['.repeat(3000)}${']'.repeat(3000)}) { edges { cursor } } }`, 'GRAPHQL_PARSE_FAILED'],
  ['an object literal nested 3,000 deep', `{ tasks(first: ${'{a:'.repeat(3000)}1${'}'.repeat(3000)}) { edges { cursor } } }`, 'GRAPHQL_PARSE_FAILED'],
  ['a selection set nested 3,000 deep', `{ ${'me { '.repeat(3000)}id${' }'.repeat(3000)} }`, 'GRAPHQL_PARSE_FAILED'],
  ['a list literal nested 40 deep', `{ tasks(first: ${'['.repeat(40)}${']'.repeat(40)}) { edges { cursor } } }`, 'GRAPHQL_PARSE_FAILED'],
  ['a document that is not GraphQL', '{ tasks(first: ', 'GRAPHQL_PARSE_FAILED'],
];

describe.each(Object.entries(TRANSPORTS))('over %s', (transport, send) => {
  for (const [name, query, code] of DOCUMENTS) {
    it(`${name}: a typed error${transport === 'WebSocket' ? '' : ', HTTP 400'}`, async () => {
      const answer = await send(gw.graphqlUrl, { query, token: key });
      expect(answer.errors.map((e) => e.extensions?.code)).toEqual([code]);
      expect(answer.errors[0]!.message.length).toBeLessThan(1000);
      if (transport !== 'WebSocket') expect(answer.status).toBe(400);
    });
  }

  it('variables of the wrong shape, however deep, are VALIDATION', async () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 1000; i++) deep = [deep];
    const seen = [];
    const byId = 'query($id: ID!) { task(id: $id) { id } }';
    const byInt = 'query($n: Int) { tasks(first: $n) { edges { cursor } } }';
    for (const [query, variables] of [[byId, { id: deep }], [byId, { id: { a: 1 } }], [byInt, { n: 2 ** 31 }], [byInt, { n: 'ten' }]] as const) {
      const answer = await send(gw.graphqlUrl, { query, variables, token: key });
      seen.push(answer.closeCode ?? answer.errors.map((e) => `${e.extensions?.code}: ${e.message.slice(0, 80)}`));
    }
    expect(seen.map((s) => (Array.isArray(s) ? s.map((m) => m.split(':')[0]) : s))).toEqual(Array(4).fill(['VALIDATION']));
  });
});

it('with Accept: application/json too, a document that cannot be parsed is a 400', async () => {
  const res = await fetch(gw.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: DOCUMENTS[0]![1] }),
  });
  expect(res.status).toBe(400);
  expect(await res.json()).toMatchObject({ errors: [{ extensions: { code: 'GRAPHQL_PARSE_FAILED' } }] });
});

describe('a request whose parameters are not JSON (found by the fuzz suite): 400 BAD_REQUEST, never a 500', () => {
  const cases: [string, () => Promise<Response>][] = [
    ['GET with variables that are not JSON', () => fetch(`${gw.graphqlUrl}?query=${encodeURIComponent('{ __typename }')}&variables=%7B`)],
    ['GET with extensions that are not JSON', () => fetch(`${gw.graphqlUrl}?query=${encodeURIComponent('{ __typename }')}&extensions=nope`)],
    [
      'a form POST with variables that are not JSON',
      () =>
        fetch(gw.graphqlUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: `query=${encodeURIComponent('{ __typename }')}&variables=%5B`,
        }),
    ],
    ['a POST body that is not JSON', () => fetch(gw.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":' })],
  ];
  for (const [name, send] of cases) {
    it(name, async () => {
      const res = await send();
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ errors: [{ extensions: { code: 'BAD_REQUEST' } }] });
    });
  }
});
