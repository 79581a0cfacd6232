// Finding 2 of the hardening issue: a NUL byte (or a lone surrogate) in any
// string input gave INTERNAL_SERVER_ERROR (PostgreSQL 22021). Now it is
// VALIDATION naming the field, on every transport, for every field, and
// nothing is written. Upstream's answers carrying such text are stored as a
// safe rendition or refused as a broken answer (src/upstream/wire.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyLedger } from '../../src/ledger/verify.ts';
import { rendition, unstorableReason } from '../../src/text.ts';
import { parseStatusBody } from '../../src/upstream/wire.ts';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { rowId } from '../helpers/graphql.ts';
import { TRANSPORTS, type Answer } from '../helpers/transports.ts';

let gw: TestGateway;
let tenant: { id: string; key: string };
beforeAll(async () => {
  gw = await startTestGateway({ NODE_ENV: 'production' });
  tenant = await gw.createTenant('text', 1000);
});
afterAll(async () => {
  await gw?.stop();
});

const NUL = 'a\u0000b';
const LONE = 'a\uD800b';

/** The member of a mutation's result union: its typename, code and field. */
function member(answer: Answer, field: string): { __typename: string; code?: string; field?: string | null } {
  expect(answer.errors, JSON.stringify(answer.errors)).toEqual([]);
  return (answer.data as Record<string, { __typename: string; code?: string; field?: string | null }>)[field]!;
}

const RESULT = `__typename ... on ValidationError { code field message }`;

const CASES: { name: string; admin: boolean; query: string; variables: (bad: string) => Record<string, unknown>; field: string }[] = [
  {
    name: 'a prompt',
    admin: false,
    query: `mutation($p: String!) { textToImage(input: { prompt: $p }) { ${RESULT} } }`,
    variables: (bad) => ({ p: bad }),
    field: 'prompt',
  },
  {
    name: 'an idempotency key',
    admin: false,
    query: `mutation($k: String!) { textToVideo(input: { prompt: "fine", idempotencyKey: $k }) { ${RESULT} } }`,
    variables: (bad) => ({ k: bad }),
    field: 'idempotencyKey',
  },
  {
    name: 'an image URL in a list',
    admin: false,
    query: `mutation($u: String!) { imageToVideo(input: { imageUrls: ["https://example.com/a.png", $u] }) { ${RESULT} } }`,
    variables: (bad) => ({ u: `https://example.com/${bad}.png` }),
    field: 'imageUrls.1',
  },
  {
    name: 'a tenant name',
    admin: true,
    query: `mutation($n: String!) { createTenant(input: { name: $n }) { ${RESULT} } }`,
    variables: (bad) => ({ n: bad }),
    field: 'name',
  },
  {
    name: 'a top-up key',
    admin: true,
    query: `mutation($t: ID!, $k: String!) { topUpCredits(input: { tenantId: $t, amount: 5, idempotencyKey: $k }) { ${RESULT} } }`,
    variables: (bad) => ({ t: tenant.id, k: bad }),
    field: 'idempotencyKey',
  },
];

describe.each(Object.entries(TRANSPORTS))('over %s', (_name, send) => {
  for (const c of CASES) {
    for (const [kind, bad] of [['NUL', NUL], ['lone surrogate', LONE]] as const) {
      it(`${c.name} with a ${kind} is VALIDATION naming ${c.field}`, async () => {
        const answer = await send(gw.graphqlUrl, { query: c.query, variables: c.variables(bad), token: c.admin ? ADMIN_TOKEN : tenant.key });
        const result = member(answer, Object.keys(answer.data as object)[0]!);
        expect(result).toMatchObject({ __typename: 'ValidationError', code: 'VALIDATION', field: c.field.split('.') });
      });
    }
  }

  it('a cursor with a NUL is VALIDATION, not a 500', async () => {
    const answer = await send(gw.graphqlUrl, { query: 'query($a: String) { tasks(first: 1, after: $a) { edges { cursor } } }', variables: { a: NUL }, token: tenant.key });
    expect(answer.errors.map((e) => e.extensions?.code)).toEqual(['VALIDATION']);
  });
});

it('nothing was written: no task, no tenant, no top-up; the ledger holds', async () => {
  const db = gw.deps.db;
  expect(await db.task.count()).toBe(0);
  expect(await db.tenant.count()).toBe(1);
  const account = await db.account.findFirstOrThrow({ where: { tenantId: rowId(tenant.id) } });
  expect(account.available).toBe(1000);
  expect(await verifyLedger(db)).toEqual([]);
});

describe("upstream's answers", () => {
  const body = (data: Record<string, unknown>) => ({
    code: 200,
    data: { task_id: 't1', status: 'FAILED', consumed_credits: 0, created_at: '2026-01-01T00:00:00Z', ...data },
  });

  it('a message with a NUL or invalid text is kept as a rendition that can be stored', () => {
    const parsed = parseStatusBody(body({ error_message: `bad\u0000\uDC00${'x'.repeat(3000)}` }));
    expect(parsed.ok).toBe(true);
    const message = parsed.ok ? parsed.value.error_message! : '';
    expect(unstorableReason(message)).toBeNull();
    expect(message.startsWith('bad\\x00\uFFFD')).toBe(true);
    expect(Array.from(message)).toHaveLength(2000);
  });

  it('an id or URL the gateway could not store is a broken answer', () => {
    expect(parseStatusBody(body({ task_id: 't\u0000' })).ok).toBe(false);
    expect(parseStatusBody(body({ status: 'SUCCESS', response: { resultUrls: ['https://x/\u0000'] } })).ok).toBe(false);
  });

  it('a rendition is bounded, well-formed and shows controls', () => {
    expect(rendition('a\u0001b\nc\u007f', 100)).toBe('a\\x01b\nc\\x7f');
    expect(rendition('😀'.repeat(10), 4)).toBe('😀😀😀…');
  });
});
