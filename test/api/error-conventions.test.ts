// Issue #12's error conventions: every top-level error carries a code from one
// list (`ErrorCode`, made from src/errors.ts), the same over HTTP, SSE and
// WebSocket; the query cost limit is QUERY_TOO_COSTLY naming its maximum,
// and a full page of ordinary rows fits under it; page sizes outside 0..100
// are VALIDATION naming the argument; a ValidationError's `field` is a path;
// each mutation's result union lists what that mutation can return.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  getNamedType,
  isEnumType,
  isInterfaceType,
  isLeafType,
  isObjectType,
  isUnionType,
  parse,
  validate,
  type GraphQLFormattedError,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODE_NAMES, ERROR_CODES } from '../../src/errors.ts';
import { PAGE_SIZE } from '../../src/schema/cursors.ts';
import { schema } from '../../src/schema/index.ts';
import { queryCostRule } from '../../src/server/query-cost.ts';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { TRANSPORTS, type Answer, type Operation } from '../helpers/transports.ts';

const MAX_COST = 5000; // GRAPHQL_MAX_COST's default

// ---------------------------------------------------------------- the one list of codes

/** The source files whose codes reach clients: the schema, the pipeline, the domain's errors, live feeds. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Every code the source gives a client error: `extensions: { code: 'X' }`, `readonly code = 'X'`, `code ??= 'X'`, `code: c ? 'X' : 'Y'`. */
function codesInSource(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const add = (code: string, where: string) => found.set(code, [...(found.get(code) ?? []), where]);
  const files = [...sourceFiles('src/schema'), ...sourceFiles('src/server'), 'src/events/feeds.ts', 'src/errors.ts'];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const patterns = [
      /extensions:\s*\{[^}]*?\bcode:\s*'([A-Z][A-Z_]+)'/g,
      /readonly code = '([A-Z][A-Z_]+)'/g,
      /\['code'\]\s*\?\?=\s*'([A-Z][A-Z_]+)'/g,
      /\bcode:\s*\(?\w+\s*\?\s*'([A-Z][A-Z_]+)'\s*:\s*'([A-Z][A-Z_]+)'/g,
    ];
    for (const pattern of patterns) {
      for (const match of text.matchAll(pattern)) for (const code of match.slice(1)) if (code) add(code, file);
    }
  }
  return found;
}

describe('ErrorCode: one list of every code', () => {
  it('is the GraphQL enum ErrorCode, and the type of Error.code', () => {
    const codeEnum = schema.getType('ErrorCode');
    expect(isEnumType(codeEnum)).toBe(true);
    if (!isEnumType(codeEnum)) return;
    expect(codeEnum.getValues().map((v) => v.name)).toEqual(ERROR_CODE_NAMES);
    // Enum values serialise to the same strings the String field answered.
    for (const code of ERROR_CODE_NAMES) expect(codeEnum.serialize(code)).toBe(code);
    const error = schema.getType('Error');
    expect(isInterfaceType(error) && String(error.getFields()['code']!.type)).toBe('ErrorCode!');
    for (const type of Object.values(schema.getTypeMap())) {
      if (isObjectType(type) && type.getInterfaces().some((i) => i.name === 'Error')) {
        expect(String(type.getFields()['code']!.type), type.name).toBe('ErrorCode!');
      }
    }
  });

  it('holds every code the source gives an error, and no code the source never gives', () => {
    const found = codesInSource();
    // The scan sees the codes of each kind of source (a guard against a scan that finds nothing).
    for (const code of ['UNAUTHENTICATED', 'QUERY_TOO_COSTLY', 'TENANT_SUSPENDED', 'INTERNAL_SERVER_ERROR', 'SLOW_CONSUMER', 'LENGTH_REQUIRED']) {
      expect([...found.keys()], code).toContain(code);
    }
    for (const [code, where] of found) expect(ERROR_CODES, `${code} (${where.join(', ')}) is not in ERROR_CODES`).toHaveProperty(code);
    for (const code of ERROR_CODE_NAMES) expect([...found.keys()], `${code} is listed but nothing gives it`).toContain(code);
  });

  it("is README's table of codes, row for row", () => {
    const readme = readFileSync('README.md', 'utf8');
    const section = readme.slice(readme.indexOf('### Errors'), readme.indexOf('### ', readme.indexOf('### Errors') + 4));
    const rows = [...section.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(rows.sort()).toEqual([...ERROR_CODE_NAMES].sort());
  });

  it("types ValidationError.field as a path: [String!]", () => {
    const type = schema.getType('ValidationError');
    expect(isObjectType(type) && String(type.getFields()['field']!.type)).toBe('[String!]');
  });
});

// ---------------------------------------------------------------- result unions

const WHY = {
  input: 'its input, an id or text (ValidationError)',
  tenant: 'a tenant id (admins) or another tenant (tenant keys)',
} as const;

/**
 * What each mutation can return besides its success, and where from. A new
 * mutation must be added here; a member added or removed must be too.
 */
const UNIONS: Record<string, Record<string, string>> = {
  createTenant: { ValidationError: WHY.input },
  issueApiKey: { ValidationError: WHY.input, NotFoundError: WHY.tenant },
  issueAdminApiKey: { ValidationError: WHY.input },
  revokeApiKey: { ValidationError: WHY.input, NotFoundError: 'an unknown key, or another tenant\'s' },
  rotateApiKey: { ValidationError: WHY.input, NotFoundError: 'an unknown key, or another tenant\'s' },
  suspendTenant: { ValidationError: WHY.input, NotFoundError: WHY.tenant },
  reactivateTenant: { ValidationError: WHY.input, NotFoundError: WHY.tenant },
  topUpCredits: { ValidationError: WHY.input, NotFoundError: WHY.tenant, IdempotencyConflictError: 'a key reused with another amount' },
  adjustCredits: {
    ValidationError: WHY.input,
    NotFoundError: WHY.tenant,
    IdempotencyConflictError: 'a key reused with another amount',
    InsufficientCreditsError: 'removing more than is available',
  },
  setPrice: { ValidationError: WHY.input, NotFoundError: WHY.tenant },
  removePrice: { ValidationError: WHY.input, NotFoundError: 'an unknown tenant, or no such price to remove' },
  setLowBalanceThreshold: { ValidationError: WHY.input, NotFoundError: WHY.tenant },
  redeliverWebhook: { ValidationError: WHY.input, NotFoundError: 'an unknown delivery, or another tenant\'s' },
  setWebhookEndpoint: { ValidationError: 'the URL, or one the SSRF guard refuses' },
  rotateWebhookSecret: { ValidationError: WHY.input, NotFoundError: WHY.tenant },
};
const GENERATION = {
  ValidationError: 'its input, or upstream rejecting it',
  InsufficientCreditsError: 'the balance',
  IdempotencyConflictError: 'a key reused with another request',
  RateLimitedError: 'the tenant\'s rate or in-flight limit, or upstream\'s',
  UpstreamUnavailableError: 'upstream failed, or the breaker is open',
  TenantSuspendedError: 'a suspended tenant',
  KeyLimitExceededError: "the key's credit limit",
};
const FROM_SOURCE = { ...GENERATION, NotFoundError: 'no such source task of the tenant', SourceNotReadyError: 'a source task not succeeded' };
Object.assign(UNIONS, { textToImage: GENERATION, textToVideo: GENERATION, imageToVideo: FROM_SOURCE, upscale: FROM_SOURCE });

/** Every union as it was before each listed only what its mutation can return (schema.graphql of 2026-12-01, Success left out). */
const BEFORE: Record<string, string> = {
  createTenant: 'ValidationError',
  issueApiKey: 'ValidationError NotFoundError',
  issueAdminApiKey: 'ValidationError',
  revokeApiKey: 'ValidationError NotFoundError',
  rotateApiKey: 'ValidationError NotFoundError',
  suspendTenant: 'ValidationError NotFoundError',
  reactivateTenant: 'ValidationError NotFoundError',
  topUpCredits: 'ValidationError NotFoundError IdempotencyConflictError',
  adjustCredits: 'ValidationError NotFoundError IdempotencyConflictError InsufficientCreditsError',
  setPrice: 'ValidationError NotFoundError',
  setLowBalanceThreshold: 'ValidationError NotFoundError',
  ...Object.fromEntries(
    ['textToImage', 'textToVideo', 'imageToVideo', 'upscale'].map((name) => [
      name,
      'ValidationError NotFoundError SourceNotReadyError InsufficientCreditsError IdempotencyConflictError RateLimitedError ' +
        'UpstreamUnavailableError TenantSuspendedError KeyLimitExceededError',
    ]),
  ),
  redeliverWebhook: 'ValidationError NotFoundError',
  setWebhookEndpoint: 'ValidationError NotFoundError',
  rotateWebhookSecret: 'ValidationError NotFoundError',
};

/** Members dropped, and why they cannot occur. */
const DROPPED: Record<string, Record<string, string>> = {
  textToImage: { NotFoundError: 'no source task to look up', SourceNotReadyError: 'no source task' },
  textToVideo: { NotFoundError: 'no source task to look up', SourceNotReadyError: 'no source task' },
  setWebhookEndpoint: { NotFoundError: "a tenant key sets its own tenant's endpoint: no id to miss" },
};

describe('each mutation lists the errors it can return', () => {
  const mutations = schema.getMutationType()!.getFields();

  it.each(Object.keys(mutations))('%s', (name) => {
    const type = mutations[name]!.type;
    const union = getNamedType(type);
    expect(isUnionType(union), `${name} returns ${String(type)}, not a result union`).toBe(true);
    if (!isUnionType(union)) return;
    const members = union.getTypes().map((t) => t.name).filter((n) => !n.endsWith('Success'));
    expect(UNIONS, `${name} is not in the table of this test`).toHaveProperty(name);
    expect(members.sort()).toEqual(Object.keys(UNIONS[name]!).sort());
    for (const member of members) {
      const type = schema.getType(member);
      expect(isObjectType(type) && type.getInterfaces().map((i) => i.name), member).toContain('Error');
    }
  });

  it('keeps every member that was there before and can occur; drops only those that cannot', () => {
    for (const [name, before] of Object.entries(BEFORE)) {
      const now = Object.keys(UNIONS[name]!);
      const dropped = Object.keys(DROPPED[name] ?? {});
      expect([...now, ...dropped].sort(), name).toEqual(before.split(' ').sort());
      for (const member of dropped) expect(now, name).not.toContain(member);
    }
    // Every code README documented for mutation results is still a member somewhere.
    const codes = new Set(Object.values(UNIONS).flatMap((m) => Object.keys(m)));
    for (const member of ['ValidationError', 'NotFoundError', 'SourceNotReadyError', 'InsufficientCreditsError', 'IdempotencyConflictError',
      'RateLimitedError', 'TenantSuspendedError', 'UpstreamUnavailableError', 'KeyLimitExceededError']) {
      expect(codes).toContain(member);
    }
  });
});

// ---------------------------------------------------------------- the cost rule

/** A document's cost as the rule computes it (a limit of -1 always reports it). */
function costOf(document: string): number {
  const errors = validate(schema, parse(document), [queryCostRule(-1)]);
  expect(errors).toHaveLength(1);
  return errors[0]!.extensions['cost'] as number;
}

/** Every scalar and enum field of Task that takes no required argument: an ordinary task fragment. */
function taskScalars(): string {
  const task = schema.getType('Task');
  if (!isObjectType(task)) throw new Error('no Task type');
  return Object.values(task.getFields())
    .filter((f) => isLeafType(getNamedType(f.type)) && f.args.every((a) => !String(a.type).endsWith('!')))
    .map((f) => f.name)
    .join(' ');
}

const FULL_PAGE = () => `query FullPage { tasks(first: 100) { edges { cursor node { ...Row } } pageInfo { hasNextPage endCursor } } }
  fragment Row on Task { ${taskScalars()} sourceTask { id } }`;
const NESTED = '{ tenants(first: 100) { edges { node { id tasks(first: 100) { edges { node { id } } } } } } }';
const NESTED_BY_VARIABLES = 'query($n: Int) { tenants(first: $n) { edges { node { id tasks(first: $n) { edges { node { id } } } } } } }';

describe('pages', () => {
  it("README gives the page sizes of every connection, as the code has them", () => {
    const readme = readFileSync('README.md', 'utf8');
    const section = readme.slice(readme.indexOf('### Pages and query cost'), readme.indexOf('### ', readme.indexOf('### Pages and query cost') + 4));
    expect(section).toContain(`**${PAGE_SIZE.default} rows**`);
    expect(section).toContain(`at most **${PAGE_SIZE.max}**`);
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__')) continue;
      for (const field of Object.values(type.getFields())) {
        if (field.args.some((a) => a.name === 'first')) expect(section, `${type.name}.${field.name}`).toContain(`\`${type.name}.${field.name}\``);
      }
    }
  });
});

describe('the cost rule: objects an operation can return, each page at its size', () => {
  it('prices a full page of tasks with every scalar field at ~300, far under the limit', () => {
    // tasks 1 + 100 × (edge 1 + node 1 + sourceTask 1) + pageInfo 1
    expect(costOf(FULL_PAGE())).toBe(302);
  });

  it('prices nested pages by their product: 100 tenants × 100 tasks is over 20,000', () => {
    expect(costOf(NESTED)).toBe(1 + 100 * (1 + 1 + 1 + 100 * 2));
    expect(costOf(NESTED)).toBeGreaterThan(MAX_COST);
  });

  it('counts a page size given by a variable as the largest page, and none as the default page', () => {
    expect(costOf(NESTED_BY_VARIABLES)).toBe(costOf(NESTED));
    expect(costOf('{ tenants { edges { node { tasks { edges { node { id } } } } } } }')).toBe(
      1 + PAGE_SIZE.default * (1 + 1 + 1 + PAGE_SIZE.default * 2),
    );
  });

  it('counts fragments where they are spread, and `nodes` like `edges`', () => {
    const inline = costOf('{ tasks(first: 50) { edges { node { id sourceTask { id } } } } }');
    const connection = getNamedType(schema.getQueryType()!.getFields()['tasks']!.type);
    expect(costOf(`{ tasks(first: 50) { ...Page } } fragment Page on ${connection.name} { edges { node { ...T } } }
      fragment T on Task { id sourceTask { id } }`)).toBe(inline);
    if (isObjectType(connection) && connection.getFields()['nodes']) {
      expect(costOf('{ tasks(first: 50) { nodes { id sourceTask { id } } } }')).toBe(inline - 50);
    }
  });
});

// ---------------------------------------------------------------- over the wire

let gw: TestGateway;
let tenant: { id: string; key: string };

beforeAll(async () => {
  gw = await startTestGateway({ NODE_ENV: 'production' });
  tenant = await gw.createTenant('conventions', 100);
});
afterAll(async () => {
  await gw?.stop();
});

async function everywhere(op: Operation): Promise<Record<string, Answer>> {
  const answers: Record<string, Answer> = {};
  for (const [name, send] of Object.entries(TRANSPORTS)) answers[name] = await send(gw.graphqlUrl, op);
  return answers;
}

/** The errors without locations (a WebSocket `error` message and an HTTP body differ in nothing else). */
function errorsOf(answer: Answer): GraphQLFormattedError[] {
  return answer.errors.map(({ message, extensions }) => ({ message, ...(extensions ? { extensions } : {}) }));
}

describe('top-level errors over HTTP, SSE and WebSocket', () => {
  it('a full page of ordinary task rows fits under the cost limit', async () => {
    for (const [name, answer] of Object.entries(await everywhere({ query: FULL_PAGE(), token: tenant.key }))) {
      expect(answer.errors, name).toEqual([]);
      expect(answer.data, name).toMatchObject({ tasks: { edges: [] } });
    }
  });

  it.each([
    ['literal page sizes', NESTED, {}],
    ['page sizes in variables', NESTED_BY_VARIABLES, { n: 2 }],
  ])('a costly query (%s) is QUERY_TOO_COSTLY naming the limit and the cost, HTTP 400', async (_name, query, variables) => {
    const answers = await everywhere({ query, variables, token: ADMIN_TOKEN });
    const expected = {
      message: `Query cost 20301 is over the limit of ${MAX_COST} (GRAPHQL_MAX_COST): ask for smaller pages or fewer nested lists`,
      extensions: { code: 'QUERY_TOO_COSTLY', maxCost: MAX_COST, cost: 20301 },
    };
    for (const [name, answer] of Object.entries(answers)) {
      expect(errorsOf(answer), name).toEqual([expected]);
      expect(answer.errors[0]!.message).not.toMatch(/Syntax Error/);
    }
    expect(answers.HTTP!.status).toBe(400);
  });

  it.each([
    ['first', -1, 'first: must not be negative'],
    ['first', PAGE_SIZE.max + 1, `first: at most ${PAGE_SIZE.max} rows per page; page on with the cursors`],
    ['last', PAGE_SIZE.max + 1, `last: at most ${PAGE_SIZE.max} rows per page; page on with the cursors`],
  ])('%s: %i is VALIDATION with field [%s]', async (arg, size, message) => {
    const query = `query($size: Int) { tasks(${arg}: $size) { edges { node { id } } } }`;
    const answers = await everywhere({ query, variables: { size }, token: tenant.key });
    for (const [name, answer] of Object.entries(answers)) {
      expect(errorsOf(answer), name).toEqual([{ message, extensions: { code: 'VALIDATION', field: [arg] } }]);
    }
  });

  it('a page of exactly the largest size, and of none, are answered', async () => {
    for (const size of [0, PAGE_SIZE.max]) {
      const res = await gw.gql(`{ tasks(first: ${size}) { edges { node { id } } } ledgerEntries(first: ${size}) { edges { node { id } } } }`, {}, tenant.key);
      expect(res.errors).toBeUndefined();
    }
  });

  it('a cursor the list did not make is VALIDATION with field [after]', async () => {
    const answers = await everywhere({ query: '{ tasks(first: 1, after: "Zm9v") { edges { node { id } } } }', token: tenant.key });
    for (const [name, answer] of Object.entries(answers)) {
      expect(errorsOf(answer), name).toEqual([{ message: 'after: is not a cursor of this list', extensions: { code: 'VALIDATION', field: ['after'] } }]);
    }
  });

  it('depth and alias limits are GRAPHQL_VALIDATION_FAILED, not a "Syntax Error"', async () => {
    const deep = `{ me { tasks(first: 1) { edges { node { ${'sourceTask { '.repeat(12)}id${' }'.repeat(12)} } } } } }`;
    const aliases = `{ ${Array.from({ length: 31 }, (_, i) => `a${i}: me { id }`).join(' ')} }`;
    for (const query of [deep, aliases]) {
      for (const [name, answer] of Object.entries(await everywhere({ query, token: tenant.key }))) {
        expect(answer.errors.map((e) => e.extensions?.code), name).toContain('GRAPHQL_VALIDATION_FAILED');
        for (const error of answer.errors) expect(error.message, name).not.toMatch(/^Syntax Error/);
      }
    }
  });
});

describe('every top-level error carries a code of ErrorCode', () => {
  it('a document of several operations and no operationName is OPERATION_RESOLUTION_FAILURE on every transport', async () => {
    const answers = await everywhere({ query: 'query A { me { id } } query B { me { name } }', token: tenant.key });
    for (const [name, answer] of Object.entries(answers)) {
      expect(errorsOf(answer), name).toEqual([
        { message: 'Could not determine what operation to execute.', extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } },
      ]);
    }
    expect(answers.HTTP!.status).toBe(400);
  });

  it.each([
    ['a method other than GET and POST', 405, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"query":"{ me { id } }"}' }],
    ['a body that is not JSON', 400, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":' }],
    ['a body of another type', 415, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{ me { id } }' }],
    [
      'a multipart body without its operations',
      400,
      { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=XX' }, body: '--XX\r\nContent-Disposition: form-data; name="map"\r\n\r\n{}\r\n--XX--\r\n' },
    ],
    ['a batch', 400, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[{"query":"{ me { id } }"}]' }],
  ] as const)('%s is BAD_REQUEST, HTTP %i', async (_name, status, init) => {
    const res = await fetch(gw.graphqlUrl, { ...init, headers: { ...init.headers, authorization: `Bearer ${tenant.key}` } });
    expect(res.status).toBe(status);
    const body = (await res.json()) as { errors: GraphQLFormattedError[] };
    expect(body.errors.map((e) => e.extensions?.['code'])).toEqual(['BAD_REQUEST']);
  });
});

describe("ValidationError.field in a result union: the path to the input", () => {
  it('names the field inside `input`', async () => {
    const res = await gw.gql<{ createTenant: { __typename: string; code: string; field: string[] } }>(
      'mutation { createTenant(input: { name: "" }) { __typename ... on ValidationError { code field } } }',
    );
    expect(res.data!.createTenant).toEqual({ __typename: 'ValidationError', code: 'VALIDATION', field: ['name'] });
  });

  it('names a list item by its index', async () => {
    const res = await gw.gql<{ imageToVideo: { __typename: string; code: string; field: string[] } }>(
      `mutation { imageToVideo(input: { imageUrls: ["https://example.com/a.png", "not a url"] }) {
         __typename ... on ValidationError { code field } } }`,
      {},
      tenant.key,
    );
    expect(res.data!.imageToVideo).toEqual({ __typename: 'ValidationError', code: 'VALIDATION', field: ['imageUrls', '1'] });
  });
});
