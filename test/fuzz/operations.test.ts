// Property-based fuzzing of every query and mutation of schema.graphql (issue
// #10), over real HTTP, against a production gateway: generated inputs (NUL,
// lone surrogates, 10 KB of emoji, numbers at every boundary, forged ids and
// cursors, the other tenant's ids and cursors), sent by the right principal
// and by wrong ones. Every answer must be data or a typed error, never a 5xx
// or an unexpected error; no tenant may see anything of another; the ledger
// must be sound afterwards.
//
// FUZZ_RUNS=<n> runs every property n times; FUZZ_SEED=<seed> replays a run
// (the seed is printed at the start, and by fast-check on a failure).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyLedger } from '../../src/ledger/verify.ts';
import { buildOperation, callOf, OPERATIONS } from './arbitraries.ts';
import {
  authorizationOf,
  buildWorld,
  checkAnswer,
  fcParams,
  InvariantViolation,
  postGraphQL,
  printStats,
  SEED,
  settle,
  stopWorld,
  type World,
} from './harness.ts';

let world: World;
beforeAll(async () => {
  console.log(`fuzz/operations: FUZZ_SEED=${SEED}`);
  world = await buildWorld();
}, 60_000);
afterAll(async () => {
  printStats('fuzz/operations');
  await stopWorld(world);
});

/**
 * Runs per operation, for each of three properties: well-typed inputs from a
 * principal with the field's scope (they get past GraphQL's own checks to the
 * resolvers and the database: the most runs), well-typed inputs from one
 * without it, and any input at all from anyone.
 */
const RUNS: Record<string, { right: number; wrong: number; any: number }> = {
  me: { right: 10, wrong: 8, any: 10 },
  prices: { right: 5, wrong: 8, any: 10 },
  ledgerEntries: { right: 40, wrong: 10, any: 20 },
  task: { right: 40, wrong: 10, any: 20 },
  tasks: { right: 40, wrong: 10, any: 20 },
  webhookDeliveries: { right: 40, wrong: 10, any: 20 },
  tenant: { right: 30, wrong: 10, any: 20 },
  tenants: { right: 30, wrong: 10, any: 20 },
  auditLog: { right: 30, wrong: 10, any: 20 },
  usageReport: { right: 40, wrong: 10, any: 20 },
  upstreamHealth: { right: 5, wrong: 8, any: 10 },
  quote: { right: 15, wrong: 10, any: 15 },
  createTenant: { right: 30, wrong: 10, any: 20 },
  suspendTenant: { right: 30, wrong: 10, any: 20 },
  reactivateTenant: { right: 20, wrong: 10, any: 15 },
  issueApiKey: { right: 40, wrong: 10, any: 20 },
  issueAdminApiKey: { right: 20, wrong: 10, any: 15 },
  revokeApiKey: { right: 30, wrong: 15, any: 20 },
  rotateApiKey: { right: 40, wrong: 10, any: 20 },
  topUpCredits: { right: 50, wrong: 10, any: 20 },
  adjustCredits: { right: 50, wrong: 10, any: 20 },
  setPrice: { right: 30, wrong: 10, any: 20 },
  removePrice: { right: 20, wrong: 10, any: 15 },
  node: { right: 40, wrong: 10, any: 20 },
  setLowBalanceThreshold: { right: 30, wrong: 10, any: 20 },
  rotateWebhookSecret: { right: 20, wrong: 10, any: 15 },
  setWebhookEndpoint: { right: 30, wrong: 10, any: 20 },
  textToImage: { right: 50, wrong: 10, any: 20 },
  textToVideo: { right: 30, wrong: 10, any: 20 },
  imageToVideo: { right: 50, wrong: 10, any: 20 },
  upscale: { right: 40, wrong: 10, any: 20 },
};

const PROPERTIES = [
  { name: 'right', mode: 'typed', principals: 'right', title: (scope: string) => `well-typed input, ${scope} principal` },
  {
    name: 'wrong',
    mode: 'typed',
    principals: 'wrong',
    title: (scope: string) => `well-typed input, ${scope === 'admin' ? 'not an admin' : scope === 'tenant' ? 'not a tenant' : 'no valid key'}: no data`,
  },
  { name: 'any', mode: 'any', principals: 'any', title: () => 'any input, any principal' },
] as const;

describe('every operation, fuzzed: data or a typed error, never a 5xx; no tenant sees another', () => {
  for (const spec of OPERATIONS) {
    for (const property of PROPERTIES) {
      it(`${spec.kind} ${spec.field}: ${property.title(spec.scope)}`, async () => {
        await fc.assert(
          fc.asyncProperty(callOf(world, spec, property.mode, property.principals), async ({ principal, values, inline }) => {
            const op = buildOperation(spec, values, inline);
            const answer = await postGraphQL(world, principal, op);
            checkAnswer(
              world,
              {
                label: `${spec.kind} ${spec.field}${inline ? ' (arguments inline)' : ''}`,
                principal,
                sent: op,
                field: spec.field,
                scope: spec.scope,
                statsGroup: property.name,
                ...(spec.check ? { check: (value: unknown) => spec.check!(world, principal, value) } : {}),
              },
              answer,
            );
          }),
          fcParams(RUNS[spec.field]?.[property.name] ?? 30),
        );
      }, 120_000);
    }
  }

  it('covers every query and mutation of schema.graphql', async () => {
    const fromSchema = await fieldsOfSchemaFile(['Query', 'Mutation']);
    expect(OPERATIONS.map((o) => o.field).sort()).toEqual([...new Set(fromSchema)].sort());
  });
});

describe('the invariants themselves', () => {
  // A checker that passes everything would make every property above pass: it must catch each failure.
  const answer = (status: number, json: unknown) => ({ status, contentType: 'application/json', text: JSON.stringify(json), json });
  const asB = (field?: string): Parameters<typeof checkAnswer>[1] => ({
    label: 'self-test',
    principal: { kind: 'tenantB', authorization: `Bearer ${world.B.key}` },
    sent: { query: '{ me { id } }' },
    ...(field ? { field, scope: 'admin' as const } : {}),
  });
  it.each([
    ['a 5xx', () => answer(502, { data: { me: { id: 'x' } } })],
    ['an unexpected error', () => answer(200, { errors: [{ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] })],
    ['an error without a code', () => answer(400, { errors: [{ message: 'Variable "$x" got invalid value' }] })],
    ['an error member without a code', () => answer(200, { data: { x: { __typename: 'ValidationError', code: null, message: 'm' } } })],
    ["the other tenant's marker", () => answer(200, { data: { task: { prompt: `${world.A.marker} a lighthouse` } } })],
    ["the other tenant's task id", () => answer(200, { data: { task: { id: world.A.imageTaskId } } })],
    ["the other tenant's id in a message it did not send", () => answer(200, { errors: [{ message: `no ${world.A.id}`, extensions: { code: 'NOT_FOUND' } }] })],
    ['neither data nor errors', () => answer(200, {})],
    ['a body that is not JSON', () => ({ status: 200, contentType: 'text/plain', text: 'ok', json: undefined })],
  ])('rejects %s', (_name, make) => {
    expect(() => checkAnswer(world, asB(), make())).toThrow(InvariantViolation);
  });
  it("rejects a mutation's error outside its result union; accepts a top-level FORBIDDEN", () => {
    const mutation = { ...asB(), sent: { query: 'mutation { textToImage(input: { prompt: "p" }) { __typename } }' } };
    const escaped = answer(200, { data: null, errors: [{ message: 'Not found', path: ['textToImage'], extensions: { code: 'NOT_FOUND' } }] });
    expect(() => checkAnswer(world, mutation, escaped)).toThrow(InvariantViolation);
    const forbidden = answer(200, { data: null, errors: [{ message: 'Not allowed', path: ['textToImage'], extensions: { code: 'FORBIDDEN' } }] });
    expect(() => checkAnswer(world, mutation, forbidden)).not.toThrow();
  });
  it('rejects data for a field the caller may not read', () => {
    expect(() => checkAnswer(world, asB('tenants'), answer(200, { data: { tenants: { edges: [] } } }))).toThrow(InvariantViolation);
  });
  it('rejects data for a field open to admins and tenants, to a caller with no valid key; accepts it for either', () => {
    const usage = answer(200, { data: { usageReport: [] } });
    const as = (kind: 'none' | 'revoked' | 'garbage' | 'admin' | 'tenantB'): Parameters<typeof checkAnswer>[1] => ({
      ...asB(),
      principal: { kind, authorization: kind === 'garbage' ? 'Bearer x' : authorizationOf(world, kind) },
      field: 'usageReport',
      scope: 'either',
    });
    for (const kind of ['none', 'revoked', 'garbage'] as const) expect(() => checkAnswer(world, as(kind), usage)).toThrow(InvariantViolation);
    for (const kind of ['admin', 'tenantB'] as const) expect(() => checkAnswer(world, as(kind), usage)).not.toThrow();
  });
  it("rejects an admin key's id or prefix in a tenant's answer", () => {
    for (const secret of world.adminSecrets) {
      expect(() => checkAnswer(world, asB(), answer(200, { data: { x: { id: secret } } }))).toThrow(InvariantViolation);
    }
  });
  it("rejects a key's secret in anyone's answer, after it was issued", () => {
    const asAdmin = { ...asB(), principal: { kind: 'admin' as const, authorization: authorizationOf(world, 'admin') } };
    for (const secret of [world.A.key, world.B.key, world.adminKey]) {
      expect(() => checkAnswer(world, asAdmin, answer(200, { data: { auditLog: { details: { note: secret } } } }))).toThrow(InvariantViolation);
    }
  });
  it("rejects what a field's own rule rejects (usageReport: upstream cost for a tenant)", () => {
    const spec = OPERATIONS.find((o) => o.field === 'usageReport')!;
    const row = { day: '2030-01-01', tenant: { id: world.B.id }, admin: { upstreamCredits: 3, margin: 1 } };
    const request = { ...asB('usageReport'), scope: 'either' as const, check: (v: unknown) => spec.check!(world, asB().principal, v) };
    expect(() => checkAnswer(world, request, answer(200, { data: { usageReport: [row] } }))).toThrow(InvariantViolation);
    expect(() => checkAnswer(world, request, answer(200, { data: { usageReport: [{ ...row, admin: null }] } }))).not.toThrow();
  });
  it("accepts an error that repeats the caller's own input", () => {
    const sent = { query: 'query($id: ID!) { task(id: $id) { id } }', variables: { id: world.A.imageTaskId } };
    const echo = answer(200, { data: { task: null }, errors: [{ message: `Invalid global ID: ${world.A.imageTaskId}`, extensions: { code: 'VALIDATION' } }] });
    expect(() => checkAnswer(world, { ...asB(), sent }, echo)).not.toThrow();
  });
});

describe('afterwards', () => {
  it('the ledger is sound, at once and once every task has ended', async () => {
    expect(await verifyLedger(world.gw.deps.db)).toEqual([]);
    await settle(world);
    expect(await verifyLedger(world.gw.deps.db)).toEqual([]);
  });
});

async function fieldsOfSchemaFile(types: string[]): Promise<string[]> {
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(new URL('../../schema.graphql', import.meta.url), 'utf8');
  const names: string[] = [];
  for (const type of types) {
    const body = new RegExp(`type ${type} \\{([\\s\\S]*?)\\n\\}`).exec(text)?.[1] ?? '';
    for (const line of body.split('\n')) {
      const m = /^ {2}(\w+)[(:]/.exec(line);
      if (m) names.push(m[1]!);
    }
  }
  return names;
}
