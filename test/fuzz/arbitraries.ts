// Arbitraries of the fuzz suite (issue #10): nasty strings, numbers at every
// boundary, forged ids and cursors, principals, and one generator of inputs
// for every query, mutation and subscription of schema.graphql.
import fc from 'fast-check';
import {
  ADMIN_TOKEN,
  authorizationOf,
  isRightPrincipal,
  otherTenant,
  tenantOf,
  type Principal,
  type PrincipalKind,
  type Scope,
  type TenantFixture,
  type World,
} from './harness.ts';

// ---------------------------------------------------------------- strings

/** 10 KB of emoji (UTF-8): 2,560 four-byte code points. */
export const EMOJI_10KB = '🦄'.repeat(2560);

/** Hand-made strings that break things: NUL, lone surrogates, sizes just past every documented limit. */
export const NASTY_STRINGS: readonly string[] = [
  '',
  ' ',
  '   \t\n  ',
  '\u3000\u00a0\u2003',
  '\u0000',
  'a\u0000b',
  'prompt with a NUL \u0000 inside',
  '\u0000'.repeat(64),
  '\ud800',
  'x\udfffy',
  '\udc00\ud800',
  'lone \ud83d surrogate',
  EMOJI_10KB,
  '🦄'.repeat(5000),
  '🦄'.repeat(5001),
  '👩‍👩‍👧‍👦'.repeat(700),
  'x'.repeat(200),
  'x'.repeat(201),
  'x'.repeat(500),
  'x'.repeat(501),
  'x'.repeat(2049),
  'x'.repeat(5000),
  'x'.repeat(5001),
  'x'.repeat(100_000),
  'e\u0301'.repeat(3000),
  '\u202eevil\u202c',
  '\ufeffbom',
  '\u200b',
  '\uffff\ufffe',
  '\u{10ffff}',
  '\r\n\u2028\u2029',
  "'; DROP TABLE task; --",
  '\\x00 %00 \\u0000',
  '$1 $$ ${x} %s %n',
  '<script>alert(1)</script>',
  '{"a":1}',
  'null',
  '__proto__',
  'constructor',
];

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const controlChar = fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c));
const weirdUnit = fc.oneof(
  fc.constant('\u0000'),
  loneSurrogate,
  controlChar,
  fc.constantFrom('🦄', '👩‍👩‍👧‍👦', '\u202e', '\ufeff', '\u200b', '\u0301', '\uffff', '\u{10ffff}', '"', '\\', "'", '%', '$', '{', '}', ':', '='),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
);

/** Any string: generated (full Unicode, NUL, lone surrogates) or hand-made nasty. */
export const fuzzString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 3, arbitrary: fc.string({ unit: weirdUnit, maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  // Mostly valid, with one bad character inside: gets past "must not be empty".
  { weight: 3, arbitrary: fc.tuple(fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 12 }), weirdUnit).map(([s, u]) => `ok ${s}${u}${s} ok`) },
);

/** A string that passes every documented rule (so the request goes deep). */
export const plainString: fc.Arbitrary<string> = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 60 })
  .map((s) => `fuzz ${s}`);

// ---------------------------------------------------------------- modes

/**
 * Two kinds of input. `typed`: every value has its argument's GraphQL type
 * (strings are strings, Ints fit in 32 bits, enums are members, required
 * fields are given), so the request gets past GraphQL's own checks into the
 * gateway's resolvers, rules and database. `any`: anything JSON can carry
 * (wrong types, out-of-range numbers, unknown fields, missing ones).
 */
export type Mode = 'typed' | 'any';

/** `arb`, or in `any` mode now and then a value of the wrong type instead. */
function orJunk<T>(mode: Mode, arb: fc.Arbitrary<T>, weight = 6): fc.Arbitrary<T | unknown> {
  return mode === 'typed' ? arb : fc.oneof({ weight, arbitrary: arb }, { weight: 1, arbitrary: junkValue });
}

// ---------------------------------------------------------------- numbers

/** Every boundary an Int can hit inside 32 bits (the ledger's and the lists' limits among them). */
export const INT32_BOUNDARIES: readonly number[] = [
  0, -0, 1, -1, 2, 5, 99, 100, 101, 499, 500, 501,
  1_000_000, 1_000_001, 1_999_999_999, 2_000_000_000, 2_000_000_001,
  // Sums that pass 2^31 - 1 once added to a balance (MAX_BALANCE is 2,000,000,000).
  147_483_647, 147_483_648, 1_000_000_000, 1_073_741_824, 1_147_483_648,
  2 ** 31 - 1, -(2 ** 31), -(2 ** 31) + 1,
];

/** Numbers no GraphQL Int can take (NaN and Infinity are not JSON, so they are not sent). */
export const NON_INT32_NUMBERS: readonly number[] = [
  2 ** 31, -(2 ** 31) - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e21, 1.7976931348623157e308, 5e-324,
  1.5, -0.5, 0.1, 99.99,
];

const int32 = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...INT32_BOUNDARIES) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.integer({ min: -3, max: 120 }) },
);

/** An Int argument: every boundary, and in `any` mode numbers past 32 bits, floats, and other types. */
export function intArg(mode: Mode): fc.Arbitrary<unknown> {
  if (mode === 'typed') return int32;
  return fc.oneof(
    { weight: 4, arbitrary: int32 },
    { weight: 3, arbitrary: fc.constantFrom(...NON_INT32_NUMBERS) },
    { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
    { weight: 1, arbitrary: junkValue },
  );
}

/** A value of the wrong JSON type, for any argument. */
export const junkValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.constantFrom(...INT32_BOUNDARIES, ...NON_INT32_NUMBERS),
  fuzzString,
  fc.constant([]),
  fc.constant({}),
  fc.array(fuzzString, { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.string({ maxLength: 6 }), fc.integer()), { maxKeys: 3 }),
  fc.constant([[[[[[[[[[['deep']]]]]]]]]]]),
);

/** A String argument: nasty, plain, or (in `any` mode) the wrong type. */
export function stringArg(mode: Mode): fc.Arbitrary<unknown> {
  return orJunk(mode, fc.oneof({ weight: 5, arbitrary: fuzzString }, { weight: 3, arbitrary: plainString }), 8);
}

// ---------------------------------------------------------------- ids and cursors

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const b64url = (s: string) => Buffer.from(s, 'utf8').toString('base64url');

export type NodeType = 'Task' | 'Tenant' | 'ApiKey' | 'WebhookDelivery';
const NODE_TYPES: NodeType[] = ['Task', 'Tenant', 'ApiKey', 'WebhookDelivery'];

/** Global ids that are not ids of `type`: malformed, of another type, of nothing, or broken inside. */
export function forgedId(type: NodeType): fc.Arbitrary<string> {
  const uuid = fc.uuid();
  const otherType = fc.constantFrom(...NODE_TYPES.filter((t) => t !== type), 'LedgerEntry', 'Node', 'Query');
  return fc.oneof(
    uuid.map((u) => b64(`${type}:${u}`)), // well-formed, of nothing
    fc.constantFrom('00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff').map((u) => b64(`${type}:${u}`)),
    fc.tuple(otherType, uuid).map(([t, u]) => b64(`${t}:${u}`)), // of another type
    uuid.map((u) => b64(`${type}:${u.toUpperCase()}`)),
    uuid.map((u) => b64(`${type}:{${u}}`)),
    uuid.map((u) => b64(`${type}:${u.replace(/-/g, '')}`)),
    uuid.map((u) => b64(`${type}:${u}\u0000`)),
    uuid.map((u) => b64(`${type}:${u} `)),
    uuid.map((u) => b64(`${type}:${u}:extra`)),
    uuid.map((u) => b64(`${type.toLowerCase()}:${u}`)),
    uuid.map((u) => b64(`:${u}`)),
    uuid.map((u) => b64(u)),
    uuid.map((u) => b64url(`${type}:${u}`)),
    uuid,
    uuid.map((u) => `${type}:${u}`),
    fc.constantFrom(
      b64(`${type}:not-a-uuid`),
      b64(`${type}:`),
      b64(`${type}`),
      b64(':'),
      b64(''),
      b64('LedgerEntry:1'),
      b64('LedgerEntry:-1'),
      b64(`${type}:${'0'.repeat(10_000)}`),
      b64(`${type}:\ud800`),
      b64(`${type}:${EMOJI_10KB}`),
      '!!!',
      '====',
      'VGFzazo',
      'VGFz azo=',
      'VGFzazo\u0000',
      '%VGFzazo%3D',
      '',
      ' ',
    ),
    fuzzString,
    fuzzString.map(b64),
    fuzzString.map((s) => b64(`${type}:${s}`)),
  );
}

function idsOf(t: TenantFixture, type: NodeType): string[] {
  switch (type) {
    case 'Task':
      return t.taskIds;
    case 'Tenant':
      return [t.id];
    case 'ApiKey':
      return [t.keyId, ...t.spareKeyIds, ...t.rotatableKeyIds];
    case 'WebhookDelivery':
      return t.deliveryIds;
  }
}

/** Real ids of both tenants, of every type but `except` (ledger entries' too). */
function realIds(world: World, except?: NodeType): string[] {
  return [world.A, world.B].flatMap((t) => NODE_TYPES.filter((n) => n !== except).flatMap((n) => idsOf(t, n)).concat(t.ledgerEntryIds));
}

/**
 * An ID argument for `type`, seen from `caller`: its own real ids, the other
 * tenant's real ids, real ids of other types, forged ids, and in `any` mode
 * values of the wrong type altogether (numbers are valid IDs to GraphQL).
 */
export function idArg(
  world: World,
  mode: Mode,
  type: NodeType,
  caller: TenantFixture | null,
  options: { own?: string[]; foreign?: string[] } = {},
): fc.Arbitrary<unknown> {
  const own = options.own ?? (caller ? idsOf(caller, type) : idsOf(world.A, type).concat(idsOf(world.B, type)));
  const foreign = options.foreign ?? (caller ? idsOf(otherTenant(world, caller), type) : []);
  const arbs: fc.WeightedArbitrary<unknown>[] = [
    { weight: 4, arbitrary: forgedId(type) },
    { weight: 1, arbitrary: fc.constantFrom(...realIds(world, type)) },
    { weight: 1, arbitrary: int32 },
  ];
  if (mode === 'any') arbs.push({ weight: 1, arbitrary: junkValue });
  if (own.length) arbs.push({ weight: 3, arbitrary: fc.constantFrom(...own) });
  if (foreign.length) arbs.push({ weight: 3, arbitrary: fc.constantFrom(...foreign) });
  return fc.oneof(...arbs);
}

export type ListName = 'tasks' | 'ledgerEntries' | 'webhookDeliveries' | 'tenants' | 'auditLog';

/** Cursors forged by hand: garbage, base64 garbage, Pothos's own format around things that are not row ids. */
export const forgedCursor: fc.Arbitrary<string> = fc.oneof(
  fuzzString,
  fuzzString.map(b64),
  fuzzString.map((s) => b64(`GPC:S:${s}`)),
  fc.uuid().map((u) => b64(`GPC:S:${u}`)),
  fc.uuid().map((u) => b64(`GPC:O:${JSON.stringify(u)}`)),
  fc.uuid().map((u) => b64(`GPC:T:${JSON.stringify([u, u])}`)),
  fc.constantFrom(
    b64('GPC:'),
    b64('GPC:S:'),
    b64('GPC:N:1'),
    b64('GPC:N:NaN'),
    b64('GPC:I:1'),
    b64('GPC:I:abc'),
    b64('GPC:D:abc'),
    b64('GPC:D:1'),
    b64('GPC:O:{'),
    b64('GPC:O:{"id":1}'),
    b64('GPC:O:null'),
    b64('GPC:Z:'),
    b64('GPC:B:////'),
    b64('GPC:M:1.5'),
    b64('GPC:T:['),
    b64('GPC:T:[]'),
    b64(`GPC:T:${'['.repeat(5000)}${']'.repeat(5000)}`),
    b64(`GPC:O:${'['.repeat(5000)}${']'.repeat(5000)}`),
    b64('GPC:X:1'),
    b64('GPC:S:\u0000'),
    b64('GPC:S:\ud800'),
    b64('arrayconnection:1'),
    '0',
    '1',
    '-1',
    '1.5',
    ' 1',
    '1\u0000',
    '01',
    '999999999999999999',
    '9999999999999999999',
    '9223372036854775807',
    '1e3',
    '',
  ),
);

function cursorsOf(world: World, t: TenantFixture | null, list: ListName): string[] {
  const of = (f: TenantFixture) =>
    list === 'tasks' ? f.taskCursors : list === 'ledgerEntries' ? f.ledgerCursors : list === 'webhookDeliveries' ? f.deliveryCursors : [];
  if (list === 'tenants') return world.tenantCursors;
  if (list === 'auditLog') return world.auditCursors.concat(world.auditCursorsOfA);
  return t ? of(t) : of(world.A).concat(of(world.B));
}

/** A cursor for `list`, seen from `caller`: its own, the other tenant's, another list's, or forged. */
export function cursorArg(world: World, mode: Mode, list: ListName, caller: TenantFixture | null): fc.Arbitrary<unknown> {
  const own = cursorsOf(world, caller, list);
  const foreign = caller ? cursorsOf(world, otherTenant(world, caller), list) : [];
  const otherLists = (['tasks', 'ledgerEntries', 'webhookDeliveries', 'tenants', 'auditLog'] as const)
    .filter((l) => l !== list)
    .flatMap((l) => cursorsOf(world, null, l));
  const arbs: fc.WeightedArbitrary<unknown>[] = [
    { weight: 4, arbitrary: forgedCursor },
    { weight: 2, arbitrary: fc.constantFrom(...otherLists) },
  ];
  if (own.length) arbs.push({ weight: 3, arbitrary: fc.constantFrom(...own) });
  if (foreign.length) arbs.push({ weight: 3, arbitrary: fc.constantFrom(...foreign) });
  return orJunk(mode, fc.oneof(...arbs));
}

/**
 * first/last/before/after of a connection: mostly the combinations a client
 * would send (first+after, last+before), sometimes any mix of the four.
 */
export function pageArgs(world: World, mode: Mode, list: ListName, caller: TenantFixture | null): fc.Arbitrary<Record<string, unknown>> {
  const cursor = cursorArg(world, mode, list, caller);
  const size = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 101 }) }, { weight: 3, arbitrary: intArg(mode) });
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant({}) },
    { weight: 2, arbitrary: fc.record({ first: size }) },
    { weight: 2, arbitrary: fc.record({ first: size, after: cursor }, { requiredKeys: ['after'] }) },
    { weight: 1, arbitrary: fc.record({ last: size, before: cursor }, { requiredKeys: ['before'] }) },
    {
      weight: 2,
      arbitrary: fc.record({ first: fc.option(size, { nil: null }), last: fc.option(size, { nil: null }), after: fc.option(cursor, { nil: null }), before: fc.option(cursor, { nil: null }) }, { requiredKeys: [] }),
    },
  );
}

// ---------------------------------------------------------------- enums, URLs, keys

export const MODELS = ['TEXT_TO_IMAGE', 'TEXT_TO_VIDEO', 'IMAGE_TO_VIDEO', 'UPSCALE'] as const;
export const STATUSES = ['SUBMITTING', 'IN_PROGRESS', 'SUCCESS', 'FAILED'] as const;

export function enumArg(mode: Mode, values: readonly string[]): fc.Arbitrary<unknown> {
  if (mode === 'typed') return fc.constantFrom(...values);
  return fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...values) },
    { weight: 1, arbitrary: fc.constantFrom('text_to_image', 'NOPE', '', 'TEXT_TO_IMAGE\u0000', 'TEXT_TO_IMAGE ') },
    { weight: 1, arbitrary: junkValue },
  );
}

export const API_KEY_SCOPES = ['GENERATE', 'READ', 'MANAGE_KEYS', 'WEBHOOKS'] as const;

/** The scopes of a new key: any subset (none among them), repeats, all; in `any` mode unknown names and wrong types too. */
export function scopesArg(mode: Mode): fc.Arbitrary<unknown> {
  const scopes = fc.oneof(
    { weight: 3, arbitrary: fc.subarray([...API_KEY_SCOPES]) },
    { weight: 1, arbitrary: fc.constant([...API_KEY_SCOPES]) },
    { weight: 1, arbitrary: fc.constant([]) },
    { weight: 2, arbitrary: fc.array(fc.constantFrom(...API_KEY_SCOPES), { maxLength: 8 }) },
    { weight: 1, arbitrary: fc.array(fc.constantFrom(...API_KEY_SCOPES), { minLength: 200, maxLength: 1000 }) },
  );
  if (mode === 'typed') return scopes;
  return fc.oneof(
    { weight: 6, arbitrary: scopes },
    { weight: 1, arbitrary: fc.array(enumArg('any', [...API_KEY_SCOPES, 'ADMIN', 'read', 'MANAGE_KEYS ']), { maxLength: 4 }) },
    { weight: 1, arbitrary: fc.constantFrom('READ', ['READ', null], [['READ']], [null], 'GENERATE,READ') },
    { weight: 1, arbitrary: junkValue },
  );
}

// ---------------------------------------------------------------- instants

const DAY_MS = 86_400_000;
/** The last instant a JS Date can hold, either way (±8.64e15 ms from the epoch). */
const MAX_DATE_MS = 8.64e15;

/** Instants at every boundary: a JS Date's range, PostgreSQL's (4714 BC), year 0, 32-bit seconds, the epoch, 9999. */
export const INSTANT_BOUNDARIES_MS: readonly number[] = [
  -MAX_DATE_MS,
  -MAX_DATE_MS + DAY_MS,
  Date.UTC(-4713, 10, 24) - 1,
  Date.UTC(-4713, 10, 24),
  Date.parse('0000-01-01T00:00:00Z'),
  Date.UTC(1000, 0, 1),
  -1,
  0,
  1,
  (2 ** 31 - 1) * 1000,
  2 ** 31 * 1000,
  2 ** 32 * 1000,
  Date.UTC(9999, 11, 31, 23, 59, 59, 999),
  Date.UTC(10000, 0, 1),
  MAX_DATE_MS - 366 * DAY_MS,
  MAX_DATE_MS - DAY_MS,
  MAX_DATE_MS,
];

/** Offsets from now: the past, the very near future (a key that expires while in use), and far. */
const NOW_OFFSETS_MS: readonly number[] = [-366 * DAY_MS, -DAY_MS, -1000, -1, 0, 1, 50, 1000, 60_000, DAY_MS, 30 * DAY_MS, 366 * DAY_MS, 100 * 366 * DAY_MS];

const clampInstant = (ms: number) => Math.max(-MAX_DATE_MS, Math.min(MAX_DATE_MS, ms));
const iso = (ms: number) => new Date(clampInstant(ms)).toISOString();

/** An instant in ms: at a boundary, around now, or anywhere a Date reaches. */
const instantMs: fc.Arbitrary<number> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...INSTANT_BOUNDARIES_MS) },
  { weight: 3, arbitrary: fc.constantFrom(...NOW_OFFSETS_MS).map((d) => Date.now() + d) },
  { weight: 2, arbitrary: fc.integer({ min: -400 * DAY_MS, max: 400 * DAY_MS }).map((d) => Date.now() + d) },
  { weight: 1, arbitrary: fc.date({ noInvalidDate: true }).map((d) => d.getTime()) },
);

/** Strings a JS Date parses though they are no ISO-8601 instant of UTC: offsets, dates alone, RFC 2822, bare numbers. */
const ODD_BUT_PARSED = [
  '2030-01-01',
  '2030-01-01T00:00:00+14:00',
  '2030-01-01T00:00:00-12:00',
  '2030-01-01T00:00',
  '2030-01-01T00:00:00.123456789Z',
  'Tue, 01 Jan 2030 00:00:00 GMT',
  'January 1, 2030',
  '2030',
  '0',
  '1',
  '-1',
  '+275760-09-13T00:00:00.000Z',
  '-271821-04-20T00:00:00.000Z',
  '-004713-11-24T00:00:00.000Z',
  '0000-01-01T00:00:00.000Z',
].filter((t) => !Number.isNaN(new Date(t).getTime()));

/** Strings no Date parses, or JSON values of other types: the DateTime scalar refuses them. */
const NOT_INSTANTS: readonly unknown[] = [
  '',
  ' ',
  'now',
  'yesterday',
  '2030-13-01T00:00:00Z',
  '2030-01-32T00:00:00Z',
  '2030-01-01T24:00:01Z',
  '2016-12-31T23:59:60Z',
  '+275760-09-13T00:00:00.001Z',
  '2030-01-01T00:00:00Z\u0000',
  'NaN',
  'Infinity',
  1_900_000_000_000,
  0,
  -1,
  true,
  null,
  {},
  ['2030-01-01T00:00:00Z'],
];

/** A DateTime argument: an instant in ISO-8601 (mostly), odd but parsed forms; in `any` mode strings no Date parses and wrong types. */
export function dateTimeArg(mode: Mode): fc.Arbitrary<unknown> {
  const parsed = fc.oneof({ weight: 8, arbitrary: instantMs.map(iso) }, { weight: 1, arbitrary: fc.constantFrom(...ODD_BUT_PARSED) });
  if (mode === 'typed') return parsed;
  return fc.oneof(
    { weight: 6, arbitrary: parsed },
    { weight: 2, arbitrary: fc.constantFrom(...NOT_INSTANTS) },
    { weight: 1, arbitrary: fuzzString },
    { weight: 1, arbitrary: junkValue },
  );
}

/**
 * A window [from, to): mostly `to` a span after `from` (nothing, a
 * millisecond, a day, exactly the 366-day limit, just past it, backwards),
 * often around now so that it holds the fixtures' tasks; or two instants
 * drawn apart.
 */
export function windowArg(mode: Mode): fc.Arbitrary<{ from: unknown; to: unknown }> {
  const span = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(0, 1, -1, DAY_MS, 7 * DAY_MS, 366 * DAY_MS - 1, 366 * DAY_MS, 366 * DAY_MS + 1, 367 * DAY_MS, -DAY_MS) },
    { weight: 2, arbitrary: fc.integer({ min: -400 * DAY_MS, max: 400 * DAY_MS }) },
    { weight: 1, arbitrary: fc.constantFrom(MAX_DATE_MS, 2 * MAX_DATE_MS) },
  );
  const aroundNow = fc.integer({ min: -366 * DAY_MS, max: DAY_MS }).map((d) => Date.now() + d);
  const paired = fc
    .tuple(fc.oneof({ weight: 2, arbitrary: aroundNow }, { weight: 2, arbitrary: instantMs }), span)
    .map(([from, d]) => ({ from: iso(from), to: iso(from + d) }));
  return fc.oneof({ weight: 4, arbitrary: paired }, { weight: 1, arbitrary: fc.record({ from: dateTimeArg(mode), to: dateTimeArg(mode) }) });
}

/** URLs for callbackUrl and imageUrls: receivers that exist, private and odd addresses, bad schemes, nasty bytes, too long. */
export function urlArg(world: World, mode: Mode, caller: TenantFixture | null): fc.Arbitrary<unknown> {
  const own = caller?.callbackUrl ?? world.A.callbackUrl;
  const origin = new URL(own).origin;
  const urls = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(own, 'https://example.com/cat.png', 'http://127.0.0.1:1/closed', `${origin}/hooks/other`) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        'http://10.0.0.7/a.png',
        'http://169.254.169.254/latest/meta-data',
        'http://[::1]/',
        'http://[::ffff:127.0.0.1]/',
        'http://[fe80::1%25eth0]/',
        'http://0x7f000001/',
        'http://2130706433/',
        'http://0/',
        'http://localhost./',
        'file:///etc/passwd',
        'javascript:alert(1)',
        'ftp://example.com/a.png',
        'http:/\\example.com',
        'http://user:pass@example.com/',
        'http://example.com:99999/',
        'http://[zz]/',
        'http://exa\u0000mple.com/',
        'http://example.com/\u0000',
        'http://example.com/\ud800',
        'http://例え.テスト/',
        'http://xn--/',
        `https://${'a'.repeat(63)}.${'b'.repeat(63)}.com/`,
        `https://example.com/${'a'.repeat(2100)}`,
        `https://${'a'.repeat(300)}.com/`,
        'https://',
        'http://.',
        '',
      ),
    },
    { weight: 2, arbitrary: fuzzString.map((s) => `${origin}/hooks/${s}`) },
    { weight: 2, arbitrary: fuzzString.map((s) => `https://${s}/x`) },
    { weight: 2, arbitrary: fuzzString },
  );
  return orJunk(mode, urls, 12);
}

/** Idempotency keys: a small shared pool (so replays and conflicts happen), the other tenant's, nasty ones. */
export function idempotencyKeyArg(world: World, mode: Mode): fc.Arbitrary<unknown> {
  return orJunk(
    mode,
    fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom('k1', 'k2', 'k3', ...world.A.idempotencyKeys, ...world.B.idempotencyKeys, 'initial') },
      { weight: 4, arbitrary: fuzzString },
      { weight: 2, arbitrary: fc.uuid() },
    ),
    9,
  );
}

// ---------------------------------------------------------------- principals

const headerSafe = (s: string) => /^[\t\x20-\x7e\x80-\xff]*$/.test(s);

/** Authorization headers that name no one: malformed, unknown, forged, truncated. */
export function garbageAuthorization(world: World): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: 'binary-ascii', maxLength: 60 }).filter(headerSafe).map((s) => `Bearer ${s}`),
    fc.string({ unit: 'binary-ascii', maxLength: 60 }).filter(headerSafe),
    fc.string({ minLength: 43, maxLength: 43, unit: fc.constantFrom(...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz') }).chain((body) =>
      fc.constantFrom(`Bearer gk_${body}`, `Bearer gka_${body}`),
    ),
    fc.constantFrom(
      'Bearer',
      'Bearer ',
      'Bearer  x',
      'Basic dXNlcjpwYXNz',
      'Token abc',
      `Bearer ${world.A.key}x`,
      `Bearer ${world.A.key.slice(0, -1)}`,
      `Bearer ${world.B.key.slice(0, 11)}`,
      `Bearer ${ADMIN_TOKEN}x`,
      `Bearer ${ADMIN_TOKEN.slice(0, -1)}`,
      `Bearer ${world.A.key} ${world.B.key}`,
      `Bearer ${'x'.repeat(4000)}`,
      'Bearer \u00ff\u00fe',
      'Bearer gk_',
      'Bearer gka_',
    ),
  );
}

function principal(world: World, kind: Exclude<PrincipalKind, 'garbage'>): Principal {
  return { kind, authorization: authorizationOf(world, kind) };
}

type KeyKind = 'admin' | 'adminKey' | 'tenantA' | 'tenantB';
const KEY_KINDS: readonly KeyKind[] = ['admin', 'adminKey', 'tenantA', 'tenantB'];

/** A principal that may call a `scope` field: an admin, a tenant, or (`either`) any of them. */
export function rightPrincipal(world: World, scope: Scope): fc.Arbitrary<Principal> {
  return fc.constantFrom(...KEY_KINDS.filter((k) => isRightPrincipal(k, scope))).map((k) => principal(world, k));
}

/** A principal that may not call a `scope` field: the other kind (if any), none, a revoked key, garbage. */
export function wrongPrincipal(world: World, scope: Scope): fc.Arbitrary<Principal> {
  const otherKind = KEY_KINDS.filter((k) => !isRightPrincipal(k, scope));
  return fc.oneof(
    ...(otherKind.length ? [{ weight: 3, arbitrary: fc.constantFrom(...otherKind).map((k) => principal(world, k)) }] : []),
    { weight: 1, arbitrary: fc.constant(principal(world, 'none')) },
    { weight: 1, arbitrary: fc.constant(principal(world, 'revoked')) },
    { weight: 2, arbitrary: garbageAuthorization(world).map((authorization): Principal => ({ kind: 'garbage', authorization })) },
  );
}

/** Any principal, mostly the right one. */
export function anyPrincipal(world: World, scope: Scope): fc.Arbitrary<Principal> {
  return fc.oneof({ weight: 2, arbitrary: rightPrincipal(world, scope) }, { weight: 1, arbitrary: wrongPrincipal(world, scope) });
}

// ---------------------------------------------------------------- operations

export interface OperationSpec {
  field: string;
  kind: 'query' | 'mutation' | 'subscription';
  scope: Scope;
  /** Argument name → GraphQL type, for variable declarations. */
  args: Record<string, string>;
  selection: string;
  /** Arguments for a call by `principal` (optional ones present or not). */
  values(world: World, mode: Mode, principal: Principal): fc.Arbitrary<Record<string, unknown>>;
  /** A rule of the field's own answer (`data[field]`) for `principal`: what is wrong with it, or null. */
  check?(world: World, principal: Principal, value: unknown): string | null;
}

export const TASK_SELECTION = `id model status prompt imageUrls resultUrls creditsCharged refunded errorMessage public
  createdAt updatedAt completedAt sourceTask { id status prompt }`;
const PAGE_INFO = 'pageInfo { hasNextPage hasPreviousPage startCursor endCursor }';
const BALANCE_SELECTION = 'available held low';
const API_KEY_SELECTION =
  'id name prefix createdAt lastUsedAt revokedAt expiresAt scopes creditLimit creditLimitPeriod creditLimitSpent rotatedFrom { id prefix revokedAt expiresAt }';
const TENANT_SELECTION = `id name createdAt status suspendedReason suspendedAt balance { ${BALANCE_SELECTION} } apiKeys { ${API_KEY_SELECTION} }`;
const ERRORS = `__typename ... on Error { code message } ... on ValidationError { field }`;
const GENERATION_ERRORS = `... on InsufficientCreditsError { required available } ... on RateLimitedError { retryAfterSeconds }
  ... on KeyLimitExceededError { limit period remaining }`;
const ISSUED_KEY_SELECTION = `apiKey { ${API_KEY_SELECTION} } secret`;
const LEDGER_ENTRY_SELECTION = 'id kind amount balanceAfter note createdAt';
const result = (success: string, data: string) => `${ERRORS} ... on ${success} { data { ${data} } }`;
const generationResult = (success: string) => `${result(success, TASK_SELECTION)} ${GENERATION_ERRORS}`;

/** In `any` mode, now and then an argument or input field the schema does not have. */
function withExtra(mode: Mode, arb: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<Record<string, unknown>> {
  if (mode === 'typed') return arb;
  return fc.tuple(arb, fc.option(fc.record({ bogus: junkValue }), { freq: 8, nil: null })).map(([a, e]) => ({ ...a, ...(e ?? {}) }));
}

/** A mutation's `input`: in `any` mode also missing, of the wrong type, or with an unknown field. */
function input(mode: Mode, arb: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<Record<string, unknown>> {
  const wrapped = withExtra(mode, arb).map((i) => ({ input: i }));
  if (mode === 'typed') return wrapped;
  return fc.oneof({ weight: 12, arbitrary: wrapped }, { weight: 1, arbitrary: junkValue.map((i) => ({ input: i })) }, { weight: 1, arbitrary: fc.constant({}) });
}

/** Required fields are always there in `typed` mode; in `any` mode any may be missing. */
function record(mode: Mode, fields: Record<string, fc.Arbitrary<unknown>>, required: string[]): fc.Arbitrary<Record<string, unknown>> {
  return fc.record(fields, { requiredKeys: mode === 'typed' ? (required as never[]) : [] }) as fc.Arbitrary<Record<string, unknown>>;
}

const nullable = (arb: fc.Arbitrary<unknown>) => fc.option(arb, { freq: 6, nil: null });

/** Generation inputs share these optional fields. */
function generationCommon(world: World, mode: Mode, caller: TenantFixture | null) {
  return {
    callbackUrl: nullable(urlArg(world, mode, caller)),
    public: nullable(orJunk(mode, fc.boolean())),
    idempotencyKey: nullable(idempotencyKeyArg(world, mode)),
  };
}

/** A prompt: plain (reaches upstream), nasty, or (in `any` mode) the wrong type. */
const promptArg = (mode: Mode) => orJunk(mode, fc.oneof({ weight: 3, arbitrary: plainString }, { weight: 5, arbitrary: fuzzString }), 8);

/** The source task of imageToVideo/upscale: the caller's successful image, its video, the other tenant's, forged. */
function sourceTaskArg(world: World, mode: Mode, caller: TenantFixture | null): fc.Arbitrary<unknown> {
  const own = caller ? [caller.imageTaskId, caller.imageTaskId, caller.videoTaskId, ...caller.taskIds] : undefined;
  return idArg(world, mode, 'Task', caller, { own });
}

const tenantIds = (world: World) => [world.A.id, world.B.id, world.priceTenantId];

/**
 * A Tenant id argument of a field open to admins and tenant keys, seen from
 * `principal`: an admin (or a caller refused anyway) names `adminTargets`;
 * a tenant names itself, or (NOT_FOUND, FORBIDDEN) the other tenant and the
 * tenants without a key.
 */
function tenantIdArg(world: World, mode: Mode, principal: Principal, adminTargets: string[] = tenantIds(world)): fc.Arbitrary<unknown> {
  const caller = tenantOf(world, principal.kind);
  if (!caller) return idArg(world, mode, 'Tenant', null, { own: adminTargets });
  return idArg(world, mode, 'Tenant', caller, { foreign: [otherTenant(world, caller).id, ...world.otherTenantIds] });
}

/**
 * Key ids for revokeApiKey and rotateApiKey, by who calls. No property may
 * end a key another property calls with (the tenants' keys, the admin key):
 *   - an admin ends the spare and rotatable keys of A, B and the admins;
 *   - a tenant ends its own spare and rotatable keys, never its own key; it is
 *     tried on every key of the other tenant's and of the admins' (NOT_FOUND);
 *   - a caller refused anyway is tried on every key, those called with too.
 */
function keyTargets(world: World, kind: PrincipalKind): { own: string[]; foreign: string[] } {
  const endable = (t: TenantFixture) => [...t.spareKeyIds, ...t.rotatableKeyIds];
  const caller = tenantOf(world, kind);
  if (caller) {
    const other = otherTenant(world, caller);
    return { own: endable(caller), foreign: [other.keyId, ...endable(other), world.adminKeyId, ...world.adminSpareKeyIds, ...world.adminRotatableKeyIds] };
  }
  const admins = [...world.adminSpareKeyIds, ...world.adminRotatableKeyIds];
  if (isRightPrincipal(kind, 'admin')) return { own: [...endable(world.A), ...endable(world.B), ...admins], foreign: [] };
  return { own: [world.A.keyId, world.B.keyId, world.adminKeyId, ...endable(world.A), ...endable(world.B), ...admins], foreign: [] };
}

/** A key id argument of revokeApiKey and rotateApiKey (see keyTargets): the caller's, others', forged, of another type. */
function keyIdArg(world: World, mode: Mode, principal: Principal): fc.Arbitrary<unknown> {
  const { own, foreign } = keyTargets(world, principal.kind);
  const arbs: fc.WeightedArbitrary<unknown>[] = [
    { weight: 3, arbitrary: fc.constantFrom(...own) },
    { weight: 4, arbitrary: forgedId('ApiKey') },
    // Real ids of other types (never of a key: a task's id is no key's).
    { weight: 1, arbitrary: fc.constantFrom(...realIds(world, 'ApiKey')) },
  ];
  if (foreign.length) arbs.push({ weight: 3, arbitrary: fc.constantFrom(...foreign) });
  return orJunk(mode, fc.oneof(...arbs));
}

/** Signed credit amounts at every boundary of adjustCredits (non-zero, |n| ≤ 2,000,000,000). */
const SIGNED_AMOUNTS: readonly number[] = [...new Set(INT32_BOUNDARIES.flatMap((n) => [n, -n]))].filter((n) => n >= -(2 ** 31) && n <= 2 ** 31 - 1);

export const OPERATIONS: OperationSpec[] = [
  // ------------------------------------------------------------ tenant queries
  {
    field: 'me',
    kind: 'query',
    scope: 'tenant',
    args: {},
    selection: `${TENANT_SELECTION} tasks(first: 5) { edges { cursor node { ${TASK_SELECTION} } } ${PAGE_INFO} }`,
    values: (_world, mode) => withExtra(mode, fc.constant({})),
  },
  {
    field: 'prices',
    kind: 'query',
    // Admins: the default table, or a tenant's; a tenant key: its own (another tenant's id is NOT_FOUND).
    scope: 'either',
    args: { tenantId: 'ID' },
    selection: 'model credits',
    values: (world, mode, p) => withExtra(mode, record(mode, { tenantId: nullable(tenantIdArg(world, mode, p)) }, [])),
  },
  {
    field: 'node',
    kind: 'query',
    // Admins: any object; a tenant key: its own (anything else is null).
    scope: 'either',
    args: { id: 'ID!' },
    selection: `__typename id ... on Task { ${TASK_SELECTION} admin { upstreamCredits } } ... on Tenant { name }
      ... on ApiKey { prefix } ... on LedgerEntry { ${LEDGER_ENTRY_SELECTION} } ... on WebhookDelivery { url } ... on AuditEvent { action }`,
    values: (world, mode, p) => {
      const caller = tenantOf(world, p.kind);
      const entries = [...world.A.ledgerEntryIds, ...world.B.ledgerEntryIds];
      const id = fc.oneof(
        idArg(world, mode, 'Task', caller),
        idArg(world, mode, 'Tenant', caller),
        idArg(world, mode, 'ApiKey', caller),
        idArg(world, mode, 'WebhookDelivery', caller),
        ...(entries.length ? [fc.constantFrom(...entries)] : []),
      );
      return withExtra(mode, record(mode, { id }, ['id']));
    },
    // What upstream charged for a task is the reseller's: null for a tenant key.
    check: (world, p, value) => {
      const caller = tenantOf(world, p.kind);
      if (!caller || value == null) return null;
      const admin = (value as { admin?: unknown }).admin;
      return admin == null ? null : `tenant ${caller.label} got the admin-only part of a task: ${JSON.stringify(value)}`;
    },
  },
  {
    field: 'quote',
    kind: 'query',
    scope: 'tenant',
    args: { input: 'QuoteInput!' },
    selection: 'model credits available affordable',
    values: (_world, mode) => input(mode, record(mode, { model: enumArg(mode, MODELS) }, ['model'])),
  },
  {
    field: 'ledgerEntries',
    kind: 'query',
    // An admin names the tenant (VALIDATION without one); a tenant key may name itself.
    scope: 'either',
    args: { tenantId: 'ID', first: 'Int', last: 'Int', after: 'String', before: 'String' },
    selection: `edges { cursor node { ${LEDGER_ENTRY_SELECTION} } } ${PAGE_INFO}`,
    values: (world, mode, p) =>
      withExtra(
        mode,
        fc
          .tuple(pageArgs(world, mode, 'ledgerEntries', tenantOf(world, p.kind)), record(mode, { tenantId: nullable(tenantIdArg(world, mode, p)) }, []))
          .map(([page, t]) => ({ ...page, ...t })),
      ),
  },
  {
    field: 'task',
    kind: 'query',
    scope: 'tenant',
    args: { id: 'ID!' },
    selection: TASK_SELECTION,
    values: (world, mode, p) => withExtra(mode, record(mode, { id: idArg(world, mode, 'Task', tenantOf(world, p.kind)) }, ['id'])),
  },
  {
    field: 'tasks',
    kind: 'query',
    scope: 'tenant',
    args: { status: 'TaskStatus', model: 'GenerationModel', first: 'Int', last: 'Int', after: 'String', before: 'String' },
    selection: `edges { cursor node { ${TASK_SELECTION} } } ${PAGE_INFO}`,
    values: (world, mode, p) =>
      withExtra(
        mode,
        fc
          .tuple(pageArgs(world, mode, 'tasks', tenantOf(world, p.kind)), record(mode, { status: nullable(enumArg(mode, STATUSES)), model: nullable(enumArg(mode, MODELS)) }, []))
          .map(([a, b]) => ({ ...a, ...b })),
      ),
  },
  {
    field: 'webhookDeliveries',
    kind: 'query',
    scope: 'tenant',
    args: { taskId: 'ID', first: 'Int', last: 'Int', after: 'String', before: 'String' },
    selection: `edges { cursor node { id url eventType status attempts lastResponseCode lastError lastAttemptAt nextAttemptAt
      deliveredAt createdAt task { id prompt } attemptLog { attemptedAt responseCode error durationMs } } } ${PAGE_INFO}`,
    values: (world, mode, p) =>
      withExtra(
        mode,
        fc
          .tuple(pageArgs(world, mode, 'webhookDeliveries', tenantOf(world, p.kind)), record(mode, { taskId: nullable(idArg(world, mode, 'Task', tenantOf(world, p.kind))) }, []))
          .map(([a, b]) => ({ ...a, ...b })),
      ),
  },
  // ------------------------------------------------------------ admin queries
  {
    field: 'tenant',
    kind: 'query',
    scope: 'admin',
    args: { id: 'ID!' },
    selection: `${TENANT_SELECTION} tasks(first: 3) { edges { cursor node { ${TASK_SELECTION} admin { upstreamCredits } } } ${PAGE_INFO} }`,
    values: (world, mode) => withExtra(mode, record(mode, { id: idArg(world, mode, 'Tenant', null, { own: tenantIds(world) }) }, ['id'])),
  },
  {
    field: 'tenants',
    kind: 'query',
    scope: 'admin',
    args: { first: 'Int', last: 'Int', after: 'String', before: 'String' },
    selection: `edges { cursor node { id name status suspendedReason suspendedAt balance { ${BALANCE_SELECTION} } } } ${PAGE_INFO}`,
    values: (world, mode) => withExtra(mode, pageArgs(world, mode, 'tenants', null)),
  },
  {
    field: 'auditLog',
    kind: 'query',
    scope: 'admin',
    args: { tenantId: 'ID', first: 'Int', last: 'Int', after: 'String', before: 'String' },
    selection: `edges { cursor node { id action actor { kind keyId prefix } tenant { id name status } details createdAt } } ${PAGE_INFO}`,
    values: (world, mode) =>
      withExtra(
        mode,
        fc
          .tuple(
            pageArgs(world, mode, 'auditLog', null),
            record(mode, { tenantId: nullable(idArg(world, mode, 'Tenant', null, { own: [...tenantIds(world), world.suspendTenantId] })) }, []),
          )
          .map(([a, b]) => ({ ...a, ...b })),
      ),
  },
  {
    field: 'upstreamHealth',
    kind: 'query',
    scope: 'admin',
    args: {},
    selection: 'state since lastError probeAt',
    values: (_world, mode) => withExtra(mode, fc.constant({})),
  },
  {
    field: 'reconciliation',
    kind: 'query',
    scope: 'admin',
    args: { from: 'DateTime!', to: 'DateTime!' },
    selection: 'from to tasksChecked mismatches corrected driftCredits',
    values: (_world, mode) => withExtra(mode, windowArg(mode)),
    // Counts of one set of tasks: corrected ⊆ mismatches ⊆ checked, and no negative drift.
    check: (_world, _p, value) => {
      const r = value as { tasksChecked?: number; mismatches?: number; corrected?: number; driftCredits?: number } | null;
      if (!r || typeof r.tasksChecked !== 'number') return null;
      const ok = r.driftCredits! >= 0 && 0 <= r.corrected! && r.corrected! <= r.mismatches! && r.mismatches! <= r.tasksChecked;
      return ok ? null : `reconciliation counts do not nest: ${JSON.stringify(r)}`;
    },
  },
  // ------------------------------------------------------------ admin or tenant queries
  {
    field: 'usageReport',
    kind: 'query',
    scope: 'either',
    args: { input: 'UsageReportInput!' },
    selection: `day model tasks succeeded failed creditsCharged creditsRefunded admin { upstreamCredits margin }
      tenant { id name status balance { ${BALANCE_SELECTION} } }`,
    values: (world, mode, p) =>
      input(
        mode,
        fc
          .tuple(windowArg(mode), record(mode, { tenantId: nullable(tenantIdArg(world, mode, p, [...tenantIds(world), world.suspendTenantId])) }, []))
          .map(([w, t]) => ({ ...w, ...t })),
      ),
    // Upstream's cost and the margin are the reseller's: a tenant reads its own rows, without them.
    check: (world, p, value) => {
      const caller = tenantOf(world, p.kind);
      if (!caller || !Array.isArray(value)) return null;
      for (const row of value as { admin?: unknown; tenant?: { id?: unknown } }[]) {
        if (row.admin != null) return `tenant ${caller.label} got upstreamCredits or margin in its usage: ${JSON.stringify(row)}`;
        if (row.tenant?.id !== caller.id) return `tenant ${caller.label} got a usage row of another tenant: ${JSON.stringify(row)}`;
      }
      return null;
    },
  },
  // ------------------------------------------------------------ admin mutations
  {
    field: 'createTenant',
    kind: 'mutation',
    scope: 'admin',
    args: { input: 'CreateTenantInput!' },
    selection: result('MutationCreateTenantSuccess', `id name status suspendedReason suspendedAt balance { ${BALANCE_SELECTION} }`),
    values: (_world, mode) => input(mode, record(mode, { name: stringArg(mode) }, ['name'])),
  },
  {
    field: 'suspendTenant',
    kind: 'mutation',
    scope: 'admin',
    args: { input: 'SuspendTenantInput!' },
    selection: result('MutationSuspendTenantSuccess', TENANT_SELECTION),
    // An admin suspends a tenant of its own (A and B keep generating, so the
    // generation fuzzing still reaches upstream); a caller without the scope is
    // tried on A and B too.
    values: (world, mode, p) =>
      input(
        mode,
        record(
          mode,
          {
            tenantId: isRightPrincipal(p.kind, 'admin')
              ? idArg(world, mode, 'Tenant', null, { own: [world.suspendTenantId], foreign: [] })
              : idArg(world, mode, 'Tenant', null, { own: [world.A.id, world.B.id, world.suspendTenantId] }),
            reason: stringArg(mode),
          },
          ['tenantId', 'reason'],
        ),
      ),
  },
  {
    field: 'reactivateTenant',
    kind: 'mutation',
    scope: 'admin',
    args: { input: 'ReactivateTenantInput!' },
    selection: result('MutationReactivateTenantSuccess', TENANT_SELECTION),
    values: (world, mode) =>
      input(mode, record(mode, { tenantId: idArg(world, mode, 'Tenant', null, { own: [...tenantIds(world), world.suspendTenantId] }) }, ['tenantId'])),
  },
  {
    field: 'issueAdminApiKey',
    kind: 'mutation',
    scope: 'admin',
    args: { input: 'IssueAdminApiKeyInput!' },
    selection: result('MutationIssueAdminApiKeySuccess', ISSUED_KEY_SELECTION),
    values: (_world, mode) => input(mode, record(mode, { name: nullable(stringArg(mode)) }, [])),
  },
  {
    field: 'topUpCredits',
    kind: 'mutation',
    scope: 'admin',
    args: { input: 'TopUpCreditsInput!' },
    selection: result('MutationTopUpCreditsSuccess', LEDGER_ENTRY_SELECTION),
    values: (world, mode) =>
      input(
        mode,
        record(
          mode,
          {
            tenantId: idArg(world, mode, 'Tenant', null, { own: tenantIds(world) }),
            amount: fc.oneof({ weight: 2, arbitrary: fc.integer({ min: 1, max: 1000 }) }, { weight: 3, arbitrary: intArg(mode) }),
            idempotencyKey: idempotencyKeyArg(world, mode),
            note: nullable(stringArg(mode)),
          },
          ['tenantId', 'amount', 'idempotencyKey'],
        ),
      ),
  },
  {
    field: 'adjustCredits',
    kind: 'mutation',
    scope: 'admin',
    args: { input: 'AdjustCreditsInput!' },
    selection: `${result('MutationAdjustCreditsSuccess', LEDGER_ENTRY_SELECTION)} ... on InsufficientCreditsError { required available }`,
    // Small amounts either way, and every boundary with both signs. A and B
    // are adjusted too: removing more than is available is refused, and a
    // random amount is rarely within their balance, so they keep credits to
    // generate with.
    values: (world, mode) =>
      input(
        mode,
        record(
          mode,
          {
            tenantId: idArg(world, mode, 'Tenant', null, { own: [...tenantIds(world), world.suspendTenantId] }),
            amount: fc.oneof(
              { weight: 2, arbitrary: fc.integer({ min: 1, max: 1000 }) },
              { weight: 2, arbitrary: fc.integer({ min: -1000, max: -1 }) },
              { weight: 3, arbitrary: fc.constantFrom(...SIGNED_AMOUNTS) },
              { weight: 2, arbitrary: intArg(mode) },
            ),
            reason: stringArg(mode),
            idempotencyKey: idempotencyKeyArg(world, mode),
          },
          ['tenantId', 'amount', 'reason', 'idempotencyKey'],
        ),
      ),
  },
  {
    field: 'setPrice',
    kind: 'mutation',
    scope: 'admin',
    args: { input: 'SetPriceInput!' },
    selection: result('MutationSetPriceSuccess', 'model credits'),
    // Overrides go to a tenant of their own (or to every tenant without one): A
    // and B keep their prices, so the generation fuzzing still reaches upstream.
    values: (world, mode, p) =>
      input(
        mode,
        record(
          mode,
          {
            model: enumArg(mode, MODELS),
            credits: fc.oneof({ weight: 2, arbitrary: fc.integer({ min: 1, max: 50 }) }, { weight: 3, arbitrary: intArg(mode) }),
            tenantId: nullable(
              isRightPrincipal(p.kind, 'admin')
                ? idArg(world, mode, 'Tenant', null, { own: [world.priceTenantId], foreign: [] })
                : idArg(world, mode, 'Tenant', null, { own: [world.A.id, world.B.id] }),
            ),
          },
          ['model', 'credits'],
        ),
      ),
  },
  {
    field: 'removePrice',
    kind: 'mutation',
    scope: 'admin',
    args: { input: 'RemovePriceInput!' },
    selection: result('MutationRemovePriceSuccess', 'model credits'),
    // Like setPrice: the price tenant's overrides or the defaults go; A and B keep theirs.
    values: (world, mode, p) =>
      input(
        mode,
        record(
          mode,
          {
            model: enumArg(mode, MODELS),
            tenantId: nullable(
              isRightPrincipal(p.kind, 'admin')
                ? idArg(world, mode, 'Tenant', null, { own: [world.priceTenantId], foreign: [] })
                : idArg(world, mode, 'Tenant', null, { own: [world.A.id, world.B.id] }),
            ),
          },
          ['model'],
        ),
      ),
  },
  // ------------------------------------------------------------ admin or tenant mutations
  {
    field: 'issueApiKey',
    kind: 'mutation',
    scope: 'either',
    args: { input: 'IssueApiKeyInput!' },
    selection: result('MutationIssueApiKeySuccess', ISSUED_KEY_SELECTION),
    values: (world, mode, p) =>
      input(
        mode,
        record(
          mode,
          {
            tenantId: tenantIdArg(world, mode, p),
            name: nullable(stringArg(mode)),
            expiresAt: nullable(dateTimeArg(mode)),
            scopes: nullable(scopesArg(mode)),
            creditLimit: nullable(intArg(mode)),
            creditLimitPeriod: nullable(orJunk(mode, fc.constantFrom('DAY', 'MONTH'))),
          },
          ['tenantId'],
        ),
      ),
  },
  {
    field: 'revokeApiKey',
    kind: 'mutation',
    scope: 'either',
    args: { input: 'RevokeApiKeyInput!' },
    selection: result('MutationRevokeApiKeySuccess', API_KEY_SELECTION),
    // Only keys no property calls with are revoked (keyTargets).
    values: (world, mode, p) => input(mode, record(mode, { id: keyIdArg(world, mode, p) }, ['id'])),
  },
  {
    field: 'rotateApiKey',
    kind: 'mutation',
    scope: 'either',
    args: { input: 'RotateApiKeyInput!' },
    selection: result('MutationRotateApiKeySuccess', `apiKey { ${API_KEY_SELECTION} } secret oldKeyExpiresAt`),
    // Only keys no property calls with are rotated (keyTargets), so a grace of
    // 0, which ends the old key at once, is fine: every boundary of it is sent.
    values: (world, mode, p) =>
      input(
        mode,
        record(
          mode,
          {
            keyId: keyIdArg(world, mode, p),
            gracePeriodSeconds: fc.oneof(
              { weight: 3, arbitrary: fc.constantFrom(0, 1, 60, 86_400, 2_591_999, 2_592_000, 2_592_001, -1, 2 ** 31 - 1, -(2 ** 31)) },
              { weight: 2, arbitrary: fc.integer({ min: 0, max: 2_592_000 }) },
              { weight: 2, arbitrary: intArg(mode) },
            ),
          },
          ['keyId', 'gracePeriodSeconds'],
        ),
      ),
  },
  {
    field: 'redeliverWebhook',
    kind: 'mutation',
    scope: 'tenant',
    args: { input: 'RedeliverWebhookInput!' },
    selection: result('MutationRedeliverWebhookSuccess', 'id status attempts nextAttemptAt attemptLog { attemptedAt responseCode error }'),
    values: (world, mode, p) =>
      input(mode, record(mode, { deliveryId: idArg(world, mode, 'WebhookDelivery', tenantOf(world, p.kind)) }, ['deliveryId'])),
  },
  {
    field: 'setWebhookEndpoint',
    kind: 'mutation',
    scope: 'tenant',
    args: { input: 'SetWebhookEndpointInput!' },
    selection: result('MutationSetWebhookEndpointSuccess', 'url events createdAt updatedAt'),
    values: (world, mode, p) =>
      input(
        mode,
        record(
          mode,
          {
            url: urlArg(world, mode, tenantOf(world, p.kind)),
            events: orJunk(mode, fc.subarray(['TASK_SUCCEEDED', 'TASK_FAILED', 'BALANCE_LOW', 'BALANCE_RECOVERED'])),
          },
          ['url', 'events'],
        ),
      ),
  },
  {
    field: 'rotateWebhookSecret',
    kind: 'mutation',
    scope: 'either',
    args: { input: 'RotateWebhookSecretInput!' },
    selection: result('MutationRotateWebhookSecretSuccess', 'secret rotatedAt'),
    values: (world, mode, p) => input(mode, record(mode, { tenantId: tenantIdArg(world, mode, p) }, ['tenantId'])),
  },
  {
    field: 'setLowBalanceThreshold',
    kind: 'mutation',
    scope: 'either',
    args: { input: 'SetLowBalanceThresholdInput!' },
    selection: result('MutationSetLowBalanceThresholdSuccess', BALANCE_SELECTION),
    // tenantId may be left out: VALIDATION for an admin, the caller's own tenant for a tenant key.
    values: (world, mode, p) =>
      input(
        mode,
        record(
          mode,
          {
            tenantId: nullable(tenantIdArg(world, mode, p, [...tenantIds(world), world.suspendTenantId])),
            credits: nullable(fc.oneof({ weight: 2, arbitrary: fc.integer({ min: 0, max: 2000 }) }, { weight: 3, arbitrary: intArg(mode) })),
          },
          [],
        ),
      ),
  },
  // ------------------------------------------------------------ tenant mutations
  {
    field: 'textToImage',
    kind: 'mutation',
    scope: 'tenant',
    args: { input: 'TextToImageInput!' },
    selection: generationResult('MutationTextToImageSuccess'),
    values: (world, mode, p) => input(mode, record(mode, { prompt: promptArg(mode), ...generationCommon(world, mode, tenantOf(world, p.kind)) }, ['prompt'])),
  },
  {
    field: 'textToVideo',
    kind: 'mutation',
    scope: 'tenant',
    args: { input: 'TextToVideoInput!' },
    selection: generationResult('MutationTextToVideoSuccess'),
    values: (world, mode, p) => input(mode, record(mode, { prompt: promptArg(mode), ...generationCommon(world, mode, tenantOf(world, p.kind)) }, ['prompt'])),
  },
  {
    field: 'imageToVideo',
    kind: 'mutation',
    scope: 'tenant',
    args: { input: 'ImageToVideoInput!' },
    selection: generationResult('MutationImageToVideoSuccess'),
    values: (world, mode, p) => {
      const caller = tenantOf(world, p.kind);
      const urls = orJunk(
        mode,
        fc.oneof(
          { weight: 4, arbitrary: fc.array(urlArg(world, 'typed', caller), { minLength: 0, maxLength: 3 }) },
          { weight: 1, arbitrary: fc.array(fc.constant('https://example.com/a.png'), { minLength: 10, maxLength: 12 }) },
        ),
      );
      return input(
        mode,
        record(
          mode,
          { imageUrls: nullable(urls), sourceTaskId: nullable(sourceTaskArg(world, mode, caller)), prompt: nullable(promptArg(mode)), ...generationCommon(world, mode, caller) },
          [],
        ),
      );
    },
  },
  {
    field: 'upscale',
    kind: 'mutation',
    scope: 'tenant',
    args: { input: 'UpscaleInput!' },
    selection: generationResult('MutationUpscaleSuccess'),
    values: (world, mode, p) => {
      const caller = tenantOf(world, p.kind);
      return input(mode, record(mode, { sourceTaskId: sourceTaskArg(world, mode, caller), ...generationCommon(world, mode, caller) }, ['sourceTaskId']));
    },
  },
];

export const SUBSCRIPTIONS: OperationSpec[] = [
  {
    field: 'taskUpdated',
    kind: 'subscription',
    scope: 'tenant',
    args: { id: 'ID!' },
    selection: TASK_SELECTION,
    values: (world, mode, p) => withExtra(mode, record(mode, { id: idArg(world, mode, 'Task', tenantOf(world, p.kind)) }, ['id'])),
  },
  {
    field: 'tasksUpdated',
    kind: 'subscription',
    scope: 'tenant',
    args: {},
    selection: TASK_SELECTION,
    values: (_world, mode) => withExtra(mode, fc.constant({})),
  },
  {
    field: 'balanceChanged',
    kind: 'subscription',
    // An admin names the tenant (VALIDATION without one); a tenant key may name itself.
    scope: 'either',
    args: { tenantId: 'ID' },
    selection: BALANCE_SELECTION,
    values: (world, mode, p) => withExtra(mode, record(mode, { tenantId: nullable(tenantIdArg(world, mode, p)) }, [])),
  },
];

// ---------------------------------------------------------------- documents

const ENUM_KEYS = new Set(['model', 'status', 'scopes']);

/** A JS value as a GraphQL literal (enum names bare where the key is an enum). */
export function literal(value: unknown, key?: string): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return key && ENUM_KEYS.has(key) && /^[_A-Za-z][_0-9A-Za-z]*$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'number') return Object.is(value, -0) ? '0' : String(value);
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map((v) => literal(v, key)).join(', ')}]`;
  return `{ ${Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `${k}: ${literal(v, k)}`)
    .join(', ')} }`;
}

export interface BuiltOperation {
  query: string;
  variables: Record<string, unknown>;
}

/**
 * The document of one call: its arguments as variables (declared with the
 * schema's types; unknown ones as String) or inline as literals.
 */
export function buildOperation(spec: OperationSpec, values: Record<string, unknown>, inline: boolean): BuiltOperation {
  const keys = Object.keys(values);
  if (inline) {
    const args = keys.map((k) => `${k}: ${literal(values[k], k)}`).join(', ');
    return { query: `${spec.kind} Fuzz { ${spec.field}${args ? `(${args})` : ''} { ${spec.selection} } }`, variables: {} };
  }
  const decls = keys.map((k) => `$${k}: ${spec.args[k] ?? 'String'}`).join(', ');
  const args = keys.map((k) => `${k}: $${k}`).join(', ');
  return {
    query: `${spec.kind} Fuzz${decls ? `(${decls})` : ''} { ${spec.field}${args ? `(${args})` : ''} { ${spec.selection} } }`,
    variables: values,
  };
}

export interface Call {
  principal: Principal;
  values: Record<string, unknown>;
  inline: boolean;
}

/**
 * One call of `spec`. `typed` input from a `right` principal reaches the
 * resolvers; from a `wrong` one it must be refused; `any` input comes from
 * anyone, mostly the right principal.
 */
export function callOf(world: World, spec: OperationSpec, mode: Mode, principals: 'right' | 'wrong' | 'any'): fc.Arbitrary<Call> {
  const who =
    principals === 'right' ? rightPrincipal(world, spec.scope) : principals === 'wrong' ? wrongPrincipal(world, spec.scope) : anyPrincipal(world, spec.scope);
  return who.chain((principal) =>
    fc.record({
      principal: fc.constant(principal),
      values: spec.values(world, mode, principal),
      // Now and then the arguments go inline in the document, as GraphQL literals.
      inline: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
    }),
  );
}

// ---------------------------------------------------------------- whole documents

/** Nesting depths: small, around GRAPHQL_MAX_DEPTH (12), around GRAPHQL_MAX_TOKENS (2000), and far past both. */
export const depthArg: fc.Arbitrary<number> = fc.oneof(
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 20 }) },
  { weight: 2, arbitrary: fc.constantFrom(11, 12, 13, 30, 100, 999, 1000, 1001, 1999, 2000, 2001, 5000) },
  { weight: 2, arbitrary: fc.integer({ min: 2000, max: 60_000 }) },
);

const times = (s: string, n: number) => s.repeat(n);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** The documents of the OPERATIONS above, with placeholder arguments: raw material for mutation. */
function sampleDocuments(world: World): string[] {
  return [
    '{ me { id name balance { available held } } }',
    `{ tasks(first: 3) { edges { cursor node { ${TASK_SELECTION} } } } }`,
    `{ task(id: "${world.A.imageTaskId}") { id prompt } }`,
    '{ ledgerEntries(first: 2) { edges { node { id amount } } } }',
    '{ webhookDeliveries(first: 2) { edges { node { id url task { id } } } } }',
    '{ tenants(first: 2) { edges { node { id name tasks(first: 1) { edges { node { id admin { upstreamCredits } } } } } } } }',
    'mutation { textToImage(input: { prompt: "a cat" }) { __typename ... on Error { code message } } }',
    `mutation { upscale(input: { sourceTaskId: "${world.B.imageTaskId}" }) { __typename ... on Error { code } } }`,
    'mutation { topUpCredits(input: { tenantId: "x", amount: 1, idempotencyKey: "k" }) { __typename } }',
    'subscription { balanceChanged { available held low } }',
    '{ quote(input: { model: TEXT_TO_IMAGE }) { model credits available affordable } }',
    '{ usageReport(input: { from: "2020-01-01T00:00:00Z", to: "2020-12-31T00:00:00Z" }) { day tenant { id name status } tasks admin { upstreamCredits margin } } }',
    '{ auditLog(first: 2) { edges { cursor node { id action actor { kind keyId prefix } tenant { id } details } } } }',
    'mutation { adjustCredits(input: { tenantId: "x", amount: -1, reason: "r", idempotencyKey: "k" }) { __typename ... on Error { code } } }',
    'mutation { rotateApiKey(input: { keyId: "x", gracePeriodSeconds: 0 }) { __typename ... on Error { code } } }',
    'mutation { issueApiKey(input: { tenantId: "x", scopes: [READ, GENERATE], expiresAt: "2999-01-01T00:00:00Z" }) { __typename } }',
    'mutation { setLowBalanceThreshold(input: { credits: 10 }) { __typename ... on MutationSetLowBalanceThresholdSuccess { data { low } } } }',
  ];
}

/** Documents that parse, nearly parse, or nest deeply: at every limit of the parser and the validation rules. */
export function documentArg(world: World): fc.Arbitrary<string> {
  const samples = sampleDocuments(world);
  const tokens = [
    '{', '}', '(', ')', '[', ']', ':', '...', 'on', 'fragment', 'query', 'mutation', 'subscription', '$x', '$', '@include', '@skip',
    '@deprecated', 'if', 'true', 'null', '=', '!', '|', '&', 'me', 'task', 'tasks', 'id', 'prompt', 'sourceTask', 'edges', 'node',
    '__typename', '__schema', '__type', 'first', 'after', 'input', 'textToImage', '"x"', '"""block"""', '1', '-1', '1.5', '2147483648',
    'Int', 'ID!', 'String', '#comment\n', ',', '\u0000', '\ufeff', 'Query', 'Task', 'TEXT_TO_IMAGE', 'quote', 'usageReport', 'auditLog', 'READ',
  ];
  return fc.oneof(
    // Nesting: fields, braces, list and object literals, inline fragments, fragment chains.
    depthArg.map((d) => `{ me { tasks(first: 1) { edges { node { ${times('sourceTask { ', d)}id${times(' }', d)} } } } } }`),
    depthArg.map((d) => `${times('{', d)}${times('}', d)}`),
    depthArg.map((d) => `{ ${times('me { ', d)}id${times(' }', d)} }`),
    depthArg.map((d) => `{ task(id: ${times('[', d)}"x"${times(']', d)}) { id } }`),
    depthArg.map((d) => `mutation { textToImage(input: ${times('{ prompt: ', d)}"x"${times(' }', d)}) { __typename } }`),
    depthArg.map((d) => `{ me @include(if: ${times('[', d)}true${times(']', d)}) { id } }`),
    depthArg.map((d) => `{ ${times('... on Query { ', d)}me { id }${times(' }', d)} }`),
    depthArg.map((d) => `{ ${times('__typename ', d)} }`),
    depthArg.map((d) => `{ __schema { types { ${times('fields { type { ', d)}name${times(' } }', d)} } } }`),
    depthArg.map((d) => `{ __type(name: "Task") { ${times('ofType { ', d)}name${times(' }', d)} } }`),
    fc.integer({ min: 1, max: 3000 }).map((n) => `query { ...F0 } ${range(n).map((i) => `fragment F${i} on Query { ...F${i + 1} }`).join(' ')} fragment F${n} on Query { me { id } }`),
    fc.integer({ min: 1, max: 200 }).map((n) => `query { ...F0 } ${range(n).map((i) => `fragment F${i} on Query { ...F${(i + 1) % n} me { id } }`).join(' ')}`),
    fc.integer({ min: 1, max: 200 }).map((n) => `query { ${range(n).map(() => '...F').join(' ')} } fragment F on Query { me { id } tasks { edges { node { id } } } }`),
    // Breadth: aliases, directives, fields, operations, variables.
    fc.constantFrom(29, 30, 31, 100, 1000).map((n) => `{ ${range(n).map((i) => `a${i}: me { id }`).join(' ')} }`),
    fc.constantFrom(49, 50, 51, 500).map((n) => `{ me ${times('@include(if: true) ', n)}{ id } }`),
    fc.constantFrom(100, 1999, 2000, 5000).map((n) => `{ me { ${times('id ', n)}} }`),
    fc.constantFrom(2, 10, 500).map((n) => range(n).map((i) => `query Q${i} { me { id } }`).join(' ')),
    fc.constantFrom(1, 100, 1000).map((n) => `query(${range(n).map((i) => `$v${i}: Int`).join(', ')}) { me { id } }`),
    fc.constantFrom(100, 2000).map((n) => `{ tasks(first: 100) { edges { node { ${range(n).map((i) => `s${i}: sourceTask { id }`).join(' ')} } } } }`),
    // Token soup and garbage.
    fc.array(fc.constantFrom(...tokens), { maxLength: 80 }).map((t) => t.join(' ')),
    fuzzString,
    // A real document with one nasty character put somewhere, or cut short.
    fc.tuple(fc.constantFrom(...samples), fc.nat(), fuzzString).map(([doc, at, junk]) => doc.slice(0, at % doc.length) + junk + doc.slice(at % doc.length)),
    fc.tuple(fc.constantFrom(...samples), fc.nat()).map(([doc, at]) => doc.slice(0, at % doc.length)),
    fc.constantFrom(...samples),
  );
}

/**
 * A JSON body around a document: its variables and operationName, well-formed
 * or not. The body is kept as text: variables nested 60,000 deep are fine to
 * send, but not to build as objects (JSON.stringify would overflow the stack).
 */
export function bodyArg(world: World): fc.Arbitrary<{ query: unknown; variables: string; operationName?: unknown }> {
  const deepJson = depthArg.map((d) => `${times('[', d)}1${times(']', d)}`);
  const deepObject = depthArg.map((d) => `${times('{"a":', d)}1${times('}', d)}`);
  return fc.record(
    {
      query: fc.oneof({ weight: 10, arbitrary: documentArg(world) }, { weight: 1, arbitrary: junkValue }),
      variables: fc.oneof(
        fc.constant('{}'),
        fc.record({ x: junkValue, v0: intArg('any') }).map((v) => JSON.stringify(v)),
        fc.dictionary(fuzzString, junkValue, { maxKeys: 3 }).map((v) => JSON.stringify(v)),
        junkValue.map((v) => JSON.stringify(v) ?? 'null'),
        deepJson.map((j) => `{"x": ${j}, "id": ${j}, "input": ${j}}`),
        deepObject.map((j) => `{"x": ${j}, "input": ${j}}`),
        deepJson,
      ),
      operationName: fc.oneof(fc.constantFrom('Q0', 'Q1', 'Q499', 'Nope', ''), fuzzString, junkValue),
    },
    { requiredKeys: ['query', 'variables'] },
  );
}

/** The body's text. */
export function bodyText(body: { query: unknown; variables: string; operationName?: unknown }): string {
  const name = body.operationName === undefined ? '' : `, "operationName": ${JSON.stringify(body.operationName) ?? 'null'}`;
  return `{"query": ${JSON.stringify(body.query) ?? 'null'}, "variables": ${body.variables}${name}}`;
}

// ---------------------------------------------------------------- raw HTTP requests

export interface RawRequest {
  method: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  search?: string;
}

/** Requests that are not quite GraphQL-over-HTTP: other methods, content types, bodies, Accept headers. */
export function rawRequestArg(world: World): fc.Arbitrary<RawRequest> {
  const op = { query: '{ me { id name } }' };
  const mutation = { query: 'mutation { textToImage(input: { prompt: "x" }) { __typename } }' };
  const body = fc.oneof(
    fc.constantFrom(
      JSON.stringify(op),
      JSON.stringify([op, op]),
      JSON.stringify([]),
      '1',
      '"query"',
      'null',
      'true',
      '{',
      '{"query": "{ me { id } }"',
      '{"query": "{ me { id } }"}garbage',
      `\ufeff${JSON.stringify(op)}`,
      '',
      ' ',
      '\u0000',
      JSON.stringify({ query: 5 }),
      JSON.stringify({ query: null }),
      JSON.stringify({ query: '' }),
      JSON.stringify({ query: '{ me { id } }', variables: 'x' }),
      JSON.stringify({ query: '{ me { id } }', variables: [1] }),
      JSON.stringify({ query: '{ me { id } }', extensions: 'x' }),
      JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: 'abc' } } }),
      JSON.stringify({ query: '{ me { id } }', extensions: { persistedQuery: { version: 1, sha256Hash: 'abc' } } }),
      '{"query": "{ me { id } }", "__proto__": {"polluted": true}}',
      '{"query": "{ me { id } }", "query": "{ prices { credits } }"}',
      '{"query": "{ me { id } }", "variables": {"__proto__": {"x": 1}}}',
      `{"query": "${'\\'.repeat(3)}"}`,
      'query=%7B%20me%20%7B%20id%20%7D%20%7D',
      '{ me { id } }',
      JSON.stringify(mutation),
      JSON.stringify({ query: 'subscription { balanceChanged { available } }' }),
      JSON.stringify({ query: `{ me { name } }${' '.repeat(1_100_000)}` }),
    ),
    fuzzString,
    fc.uint8Array({ maxLength: 64 }),
    fc.constant(Uint8Array.from([0x7b, 0x22, 0x71, 0x75, 0x65, 0x72, 0x79, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d])),
  );
  const contentType = fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=latin1',
    'application/graphql',
    'application/graphql+json',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=xyz',
    'application/octet-stream',
    '',
    'garbage',
  );
  const accept = fc.constantFrom(
    undefined,
    'application/json',
    'application/graphql-response+json',
    'text/event-stream',
    'multipart/mixed',
    '*/*',
    'text/html',
    'application/xml',
    'garbage;;q=x',
  );
  const authorization = fc.option(
    fc.oneof(fc.constantFrom(`Bearer ${world.A.key}`, `Bearer ${ADMIN_TOKEN}`), garbageAuthorization(world)),
    { nil: undefined },
  );
  const search = fc.oneof(
    fc.constant(''),
    fc.constantFrom('?query=%7B%20me%20%7B%20id%20%7D%20%7D', '?query=mutation%20%7B%20textToImage(input%3A%7Bprompt%3A%22x%22%7D)%20%7B%20__typename%20%7D%20%7D', '?query=', '?query=%00', '?query=%ZZ', '?variables=%7B', '?query=%7B%20me%20%7B%20id%20%7D%20%7D&variables=%5B1%5D'),
    fuzzString.map((s) => {
      // A URL stays under 8 KB, as in 'documents over GET' (past 16 KB of headers, node:http itself answers 431).
      let usable = s.replace(/[\ud800-\udfff]/g, '');
      while (encodeURIComponent(usable).length > 8000) usable = usable.slice(0, Math.floor(usable.length / 2));
      return `?query=${encodeURIComponent(usable)}`;
    }),
  );
  return fc
    .record({
      method: fc.constantFrom('POST', 'POST', 'POST', 'GET', 'GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
      contentType,
      accept,
      authorization,
      body,
      search,
    })
    .map(({ method, contentType: ct, accept: acc, authorization: auth, body: b, search: q }) => {
      const headers: Record<string, string> = {};
      if (ct) headers['content-type'] = ct;
      if (acc) headers.accept = acc;
      if (auth) headers.authorization = auth;
      return method === 'GET' ? { method, headers, search: q } : { method, headers, body: b, search: method === 'POST' ? '' : q };
    });
}
