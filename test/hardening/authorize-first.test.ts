// Who may call a field is decided before its input is judged (found by the
// fuzz suite): a caller without the field's scope gets UNAUTHENTICATED or
// FORBIDDEN, never a ValidationError about what it sent, and an id of the
// wrong type says nothing to it. Callers with the scope still get the
// ValidationError, on every transport.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { TRANSPORTS } from '../helpers/transports.ts';

let gw: TestGateway;
let tenantKey: string;
beforeAll(async () => {
  gw = await startTestGateway();
  tenantKey = (await gw.createTenant('caller', 10)).key;
});
afterAll(async () => {
  await gw?.stop();
});

const BAD_INPUT = [
  ['an empty prompt, to a tenant-only mutation', 'tenant', 'mutation { textToImage(input: { prompt: "" }) { __typename ... on ValidationError { field } } }'],
  ['a NUL byte, to a tenant-only mutation', 'tenant', 'mutation { textToVideo(input: { prompt: "a\\u0000b" }) { __typename ... on ValidationError { field } } }'],
  ['a zero amount, to an admin-only mutation', 'admin', 'mutation { setPrice(input: { model: TEXT_TO_IMAGE, credits: 0 }) { __typename ... on ValidationError { field } } }'],
  ['an id of another type, to an admin-only mutation', 'admin', 'mutation { suspendTenant(input: { tenantId: "VGFzazo5MWNmMjIzMi1mMmZhLTRhNTktODJkMC1mOWQ0YjEzNDA0YmI=", reason: "x" }) { __typename ... on ValidationError { field } } }'],
  ['a malformed id, to an admin-only query', 'admin', '{ tenant(id: "%%%") { id } }'],
] as const;

describe('authorization comes before input validation', () => {
  for (const [name, scope, query] of BAD_INPUT) {
    for (const [transport, send] of Object.entries(TRANSPORTS)) {
      it(`${name}, over ${transport}: no key → UNAUTHENTICATED, the wrong key → FORBIDDEN, the right key → VALIDATION`, async () => {
        const none = await send(gw.graphqlUrl, { query });
        const wrong = await send(gw.graphqlUrl, { query, token: scope === 'admin' ? tenantKey : ADMIN_TOKEN });
        const right = await send(gw.graphqlUrl, { query, token: scope === 'admin' ? ADMIN_TOKEN : tenantKey });
        // Over WebSocket a missing key is refused at connection_init (4403, graphql-ws's Forbidden); over HTTP it is the field's error.
        if (none.closeCode === undefined) expect(none.errors.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
        else expect(none.closeCode).toBe(4403);
        expect(wrong.errors.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
        expect(JSON.stringify(wrong.data ?? null)).not.toMatch(/ValidationError/);
        const validation = JSON.stringify(right.data) + JSON.stringify(right.errors);
        expect(validation).toMatch(/ValidationError|VALIDATION/);
      });
    }
  }
});
