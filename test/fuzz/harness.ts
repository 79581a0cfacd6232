// The fuzz suite's world and its invariants (issue #10). A production gateway
// (errors masked, as a client would see them) on a fresh database, two
// tenants A and B with real data (successful tasks, ledger entries, webhook
// deliveries, spare keys), each marked with a unique string in its name and
// prompts, and one function that checks every answer against the invariants:
//
//   - the HTTP status is below 500, and the body is data or errors (JSON);
//   - every error carries a string `extensions.code`, never
//     INTERNAL_SERVER_ERROR, never "Unexpected error.";
//   - every error member of a result union carries a string `code`, never
//     INTERNAL_SERVER_ERROR;
//   - a caller without the field's scope gets no data for it (a field is
//     for admins, for tenant keys, or for either);
//   - no answer, to anyone, holds the secret of a key once it was issued;
//   - a tenant's answer holds no id, cursor, key or text of the other tenant,
//     nor any id, prefix or secret of an admin key (an error message may
//     repeat what the caller itself sent, nothing else);
//   - a field's own rule, where its spec has one (usageReport: no upstream
//     cost or margin for a tenant).
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../helpers/gateway.ts';

export { ADMIN_TOKEN };

// ---------------------------------------------------------------- parameters

/** FUZZ_SEED fixes the seed; otherwise one is drawn per file and printed, so any run can be replayed. */
export const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;

/** fast-check's parameters for one property: FUZZ_RUNS overrides every property's default number of runs. */
export function fcParams(defaultRuns: number): { numRuns: number; seed: number } {
  const runs = Number(process.env.FUZZ_RUNS);
  return { numRuns: Number.isFinite(runs) && runs > 0 ? runs : defaultRuns, seed: SEED };
}

// ---------------------------------------------------------------- principals

export type PrincipalKind = 'admin' | 'adminKey' | 'tenantA' | 'tenantB' | 'none' | 'garbage' | 'revoked';

export interface Principal {
  kind: PrincipalKind;
  /** The Authorization header sent, if any. */
  authorization?: string;
}

/**
 * Who may call a field: admins (the ADMIN_TOKEN, an admin key), tenant keys,
 * or `either` (admins for any tenant, a tenant key for its own). The fixture
 * tenant keys have every ApiKeyScope, so a field open to tenant keys of one
 * scope (READ, GENERATE, MANAGE_KEYS, WEBHOOKS) is open to both of them.
 */
export type Scope = 'admin' | 'tenant' | 'either';

const ADMIN_KINDS: readonly PrincipalKind[] = ['admin', 'adminKey'];
const TENANT_KINDS: readonly PrincipalKind[] = ['tenantA', 'tenantB'];

/** The principals that may call a field of `scope`: everyone else (no key, a revoked key, garbage, the other kind) is refused. */
export function rightKinds(scope: Scope): readonly PrincipalKind[] {
  return scope === 'admin' ? ADMIN_KINDS : scope === 'tenant' ? TENANT_KINDS : [...ADMIN_KINDS, ...TENANT_KINDS];
}

export function isRightPrincipal(kind: PrincipalKind, scope: Scope): boolean {
  return rightKinds(scope).includes(kind);
}

/** `admin-only`, `tenant-only`, `admin-or-tenant`: for messages. */
export function scopeLabel(scope: Scope): string {
  return scope === 'either' ? 'admin-or-tenant' : `${scope}-only`;
}

// ---------------------------------------------------------------- the world

export interface TenantFixture {
  label: 'A' | 'B';
  id: string;
  key: string;
  keyId: string;
  marker: string;
  /** Keys of this tenant that revokeApiKey and rotateApiKey may end (never `key`). */
  spareKeyIds: string[];
  /** More keys of this tenant made for rotateApiKey alone (a key is rotated at most once); no property calls with them. */
  rotatableKeyIds: string[];
  /** A key of this tenant, revoked at setup. */
  revokedKey: string;
  /** This tenant's successful TEXT_TO_IMAGE task (a valid source for imageToVideo and upscale). */
  imageTaskId: string;
  /** This tenant's successful TEXT_TO_VIDEO task (not a valid source for imageToVideo). */
  videoTaskId: string;
  taskIds: string[];
  deliveryIds: string[];
  ledgerEntryIds: string[];
  taskCursors: string[];
  deliveryCursors: string[];
  ledgerCursors: string[];
  idempotencyKeys: string[];
  /** Where this tenant's webhooks go (a receiver on 127.0.0.1; its path holds the marker). */
  callbackUrl: string;
  /** Every string of this tenant that no other tenant may ever see. */
  secrets: string[];
  /** The secrets of this tenant's keys made at setup (`key` among them). */
  keySecrets: string[];
}

export interface World {
  gw: TestGateway;
  A: TenantFixture;
  B: TenantFixture;
  /** A third tenant, with no key: the target of setPrice overrides. */
  priceTenantId: string;
  /** A fourth tenant, with no key: the target of suspensions, so that A and B keep generating. */
  suspendTenantId: string;
  /** Admin API keys: one to call with (`adminKeyId`, never revoked or rotated), spares to revoke and rotate, more to rotate. */
  adminKey: string;
  adminKeyId: string;
  adminSpareKeyIds: string[];
  adminRotatableKeyIds: string[];
  /** Every string of the admins' that no tenant may ever see: the ADMIN_TOKEN, admin keys' secrets, ids and prefixes. */
  adminSecrets: string[];
  /** The secret of every key made at setup, and the ADMIN_TOKEN: shown once, when issued, and never again to anyone. */
  keySecrets: string[];
  tenantCursors: string[];
  /** Cursors of auditLog: of the whole log, and of tenant A's part of it. */
  auditCursors: string[];
  auditCursorsOfA: string[];
  /** Other tenants created by the suite's own setup (ids). */
  otherTenantIds: string[];
  receivers: Server[];
}

export function tenantOf(world: World, kind: PrincipalKind): TenantFixture | null {
  return kind === 'tenantA' ? world.A : kind === 'tenantB' ? world.B : null;
}

export function otherTenant(world: World, t: TenantFixture): TenantFixture {
  return t.label === 'A' ? world.B : world.A;
}

/** The Authorization header of a principal that does exist in this world. */
export function authorizationOf(world: World, kind: 'admin' | 'adminKey' | 'tenantA' | 'tenantB' | 'none' | 'revoked'): string | undefined {
  switch (kind) {
    case 'admin':
      return `Bearer ${ADMIN_TOKEN}`;
    case 'adminKey':
      return `Bearer ${world.adminKey}`;
    case 'tenantA':
      return `Bearer ${world.A.key}`;
    case 'tenantB':
      return `Bearer ${world.B.key}`;
    case 'revoked':
      return `Bearer ${world.A.revokedKey}`;
    case 'none':
      return undefined;
  }
}

const TASK_FIELDS = 'id status prompt';

async function admin<T>(gw: TestGateway, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await gw.gql<T>(query, variables);
  if (res.errors || !res.data) throw new Error(`setup failed: ${JSON.stringify(res)}`);
  return res.data;
}

async function as<T>(gw: TestGateway, key: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await gw.gql<T>(query, variables, key);
  if (res.errors || !res.data) throw new Error(`setup failed: ${JSON.stringify(res)}`);
  return res.data;
}

function successData<T>(result: { __typename: string; data?: T; code?: string; message?: string }): T {
  if (!result.__typename.endsWith('Success')) throw new Error(`setup failed: ${JSON.stringify(result)}`);
  return result.data as T;
}

async function startReceiver(status: number): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(status, { 'content-type': 'text/plain' }).end('ok'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const GENERATE = (mutation: string, input: string, success: string) => `mutation($input: ${input}!) { ${mutation}(input: $input) {
  __typename ... on Error { code message } ... on ${success} { data { ${TASK_FIELDS} } } } }`;

async function generate(gw: TestGateway, key: string, mutation: 'textToImage' | 'textToVideo' | 'imageToVideo' | 'upscale', input: Record<string, unknown>) {
  const names = {
    textToImage: ['TextToImageInput', 'MutationTextToImageSuccess'],
    textToVideo: ['TextToVideoInput', 'MutationTextToVideoSuccess'],
    imageToVideo: ['ImageToVideoInput', 'MutationImageToVideoSuccess'],
    upscale: ['UpscaleInput', 'MutationUpscaleSuccess'],
  } as const;
  const [inputType, success] = names[mutation];
  const data = await as<Record<string, { __typename: string; data?: { id: string } }>>(gw, key, GENERATE(mutation, inputType, success), { input });
  return successData(data[mutation]!);
}

async function waitFor<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`setup: timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 40));
  }
}

function rawUuid(globalId: string): string {
  return Buffer.from(globalId, 'base64').toString('utf8').split(':')[1] ?? '';
}

async function buildTenant(gw: TestGateway, label: 'A' | 'B', receiverOrigin: string): Promise<TenantFixture> {
  const marker = `ZQ${label}${randomBytes(6).toString('hex')}MARK`;
  const t = await gw.createTenant(`tenant ${label} ${marker}`, 1_000_000);
  // Prices of A and B are their own: the fuzzing of default prices must not price them out.
  const prices = [['TEXT_TO_IMAGE', 1], ['TEXT_TO_VIDEO', 2], ['IMAGE_TO_VIDEO', 2], ['UPSCALE', 1]] as const;
  await Promise.all(
    prices.map(([model, credits]) =>
      admin(gw, `mutation($input: SetPriceInput!) { setPrice(input: $input) { __typename } }`, { input: { model, credits, tenantId: t.id } }),
    ),
  );
  const callbackUrl = `${receiverOrigin}/hooks/${marker}`;
  const idempotencyKeys = [`idem-${label}-1`, `idem-${label}-2`];
  const ended = async (id: string) =>
    waitFor(`task ${id}`, () => as<{ task: { status: string } }>(gw, t.key, `query($id: ID!) { task(id: $id) { status } }`, { id }), (d) =>
      d.task.status === 'SUCCESS',
    );
  const [image, video] = await Promise.all([
    generate(gw, t.key, 'textToImage', { prompt: `${marker} a lighthouse`, callbackUrl, idempotencyKey: idempotencyKeys[0] }),
    generate(gw, t.key, 'textToVideo', { prompt: `${marker} waves`, callbackUrl, idempotencyKey: idempotencyKeys[1] }),
  ]);
  await Promise.all([ended(image.id), ended(video.id)]);
  const followers = await Promise.all([
    generate(gw, t.key, 'upscale', { sourceTaskId: image.id, callbackUrl }),
    generate(gw, t.key, 'imageToVideo', { sourceTaskId: image.id, prompt: `${marker} slow zoom` }),
  ]);
  await Promise.all(followers.map((task) => ended(task.id)));

  const issue = async (name: string) => {
    const issued = await admin<{ issueApiKey: { __typename: string; data?: { secret: string; apiKey: { id: string } } } }>(
      gw,
      `mutation($id: ID!, $name: String) { issueApiKey(input: { tenantId: $id, name: $name }) {
         __typename ... on MutationIssueApiKeySuccess { data { secret apiKey { id } } } } }`,
      { id: t.id, name },
    );
    return successData(issued.issueApiKey);
  };
  const spare = await Promise.all([0, 1, 2, 3].map(() => issue('spare')));
  const rotatable = await Promise.all([0, 1, 2].map(() => issue('rotatable')));
  const revoked = spare.pop()!;
  await admin(gw, `mutation($id: ID!) { revokeApiKey(input: { id: $id }) { __typename } }`, { id: revoked.apiKey.id });

  // Deliveries: three tasks have a callback URL; wait until each has its row.
  const deliveries = await waitFor(
    'webhook deliveries',
    () =>
      as<{ webhookDeliveries: { edges: { cursor: string; node: { id: string } }[] } }>(
        gw,
        t.key,
        `{ webhookDeliveries(first: 100) { edges { cursor node { id } } } }`,
      ),
    (d) => d.webhookDeliveries.edges.length >= 3,
  );
  const tasks = await as<{ tasks: { edges: { cursor: string; node: { id: string } }[] } }>(
    gw,
    t.key,
    `{ tasks(first: 100) { edges { cursor node { id } } } }`,
  );
  const entries = await as<{ ledgerEntries: { edges: { cursor: string; node: { id: string } }[] } }>(
    gw,
    t.key,
    `{ ledgerEntries(first: 100) { edges { cursor node { id } } } }`,
  );
  const me = await as<{ me: { apiKeys: { id: string; prefix: string }[] } }>(gw, t.key, `{ me { apiKeys { id prefix } } }`);

  const taskIds = tasks.tasks.edges.map((e) => e.node.id);
  const deliveryIds = deliveries.webhookDeliveries.edges.map((e) => e.node.id);
  const ledgerEntryIds = entries.ledgerEntries.edges.map((e) => e.node.id);
  const keyIds = me.me.apiKeys.map((k) => k.id);
  const taskCursors = tasks.tasks.edges.map((e) => e.cursor);
  const deliveryCursors = deliveries.webhookDeliveries.edges.map((e) => e.cursor);
  const secrets = [
    marker,
    t.id,
    rawUuid(t.id),
    t.key,
    revoked.secret,
    ...spare.map((s) => s.secret),
    ...rotatable.map((s) => s.secret),
    ...me.me.apiKeys.map((k) => k.prefix),
    ...keyIds,
    ...keyIds.map(rawUuid),
    ...taskIds,
    ...taskIds.map(rawUuid),
    ...deliveryIds,
    ...deliveryIds.map(rawUuid),
    ...ledgerEntryIds,
    ...taskCursors,
    ...deliveryCursors,
  ];
  return {
    label,
    id: t.id,
    key: t.key,
    keyId: t.keyId,
    marker,
    spareKeyIds: spare.map((s) => s.apiKey.id),
    rotatableKeyIds: rotatable.map((s) => s.apiKey.id),
    revokedKey: revoked.secret,
    imageTaskId: image.id,
    videoTaskId: video.id,
    taskIds,
    deliveryIds,
    ledgerEntryIds,
    taskCursors,
    deliveryCursors,
    ledgerCursors: entries.ledgerEntries.edges.map((e) => e.cursor),
    idempotencyKeys,
    callbackUrl,
    secrets: [...new Set(secrets.filter((s) => s.length >= 8))],
    keySecrets: [t.key, revoked.secret, ...spare.map((s) => s.secret), ...rotatable.map((s) => s.secret)],
  };
}

/**
 * A production gateway with two tenants full of data. Limits on the rate of
 * generation and of operations are raised so that the fuzzing reaches past
 * them to the database; so is the budget of failed authentications of an
 * address: the callers with garbage or revoked keys would spend it within
 * seconds, and from then on every key the cache has let go of would be
 * refused (RATE_LIMITED) until the minute is out. Those limits have tests of
 * their own (test/hardening/).
 */
export async function buildWorld(env: Record<string, string> = {}): Promise<World> {
  const gw = await startTestGateway({
    NODE_ENV: 'production',
    // Production refuses to start on the simulator unless told so on purpose.
    UPSTREAM_SIMULATOR: 'true',
    TENANT_RATE_PER_MINUTE: '1000000',
    TENANT_MAX_IN_FLIGHT: '10000',
    TENANT_REQUESTS_PER_MINUTE: '10000000',
    AUTH_FAILURES_PER_MINUTE: '1000000',
    ...env,
  });
  const ok = await startReceiver(200);
  const failing = await startReceiver(500);
  const [A, B, priceTenant, suspendTenant, adminKeys] = await Promise.all([
    buildTenant(gw, 'A', ok.origin),
    buildTenant(gw, 'B', failing.origin),
    gw.createTenant('price target', 0),
    gw.createTenant('suspension target', 1000),
    Promise.all(
      [0, 1, 2, 3, 4, 5].map(async () => {
        const issued = await admin<{
          issueAdminApiKey: { __typename: string; data?: { secret: string; apiKey: { id: string; prefix: string } } };
        }>(
          gw,
          `mutation { issueAdminApiKey(input: { name: "fuzz" }) {
             __typename ... on MutationIssueAdminApiKeySuccess { data { secret apiKey { id prefix } } } } }`,
        );
        return successData(issued.issueAdminApiKey);
      }),
    ),
  ]);
  const tenants = await admin<{ tenants: { edges: { cursor: string }[] } }>(gw, `{ tenants(first: 100) { edges { cursor } } }`);
  const auditLog = async (tenantId?: string) =>
    (
      await admin<{ auditLog: { edges: { cursor: string }[] } }>(gw, `query($t: ID) { auditLog(tenantId: $t, first: 100) { edges { cursor } } }`, {
        t: tenantId ?? null,
      })
    ).auditLog.edges.map((e) => e.cursor);
  const adminSecrets = [
    ADMIN_TOKEN,
    ...adminKeys.flatMap((k) => [k.secret, k.apiKey.id, rawUuid(k.apiKey.id), k.apiKey.prefix]),
  ];
  return {
    gw,
    A,
    B,
    priceTenantId: priceTenant.id,
    suspendTenantId: suspendTenant.id,
    adminKey: adminKeys[0]!.secret,
    adminKeyId: adminKeys[0]!.apiKey.id,
    adminSpareKeyIds: adminKeys.slice(1, 4).map((k) => k.apiKey.id),
    adminRotatableKeyIds: adminKeys.slice(4).map((k) => k.apiKey.id),
    adminSecrets: [...new Set(adminSecrets.filter((s) => s.length >= 8))],
    keySecrets: [ADMIN_TOKEN, ...adminKeys.map((k) => k.secret), ...A.keySecrets, ...B.keySecrets, suspendTenant.key, priceTenant.key],
    tenantCursors: tenants.tenants.edges.map((e) => e.cursor),
    auditCursors: await auditLog(),
    auditCursorsOfA: await auditLog(A.id),
    otherTenantIds: [priceTenant.id, suspendTenant.id],
    receivers: [ok.server, failing.server],
  };
}

export async function stopWorld(world: World | undefined): Promise<void> {
  if (!world) return;
  await world.gw.stop();
  for (const server of world.receivers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

/** Waits until no task is submitting or in progress, so the ledger is checked at rest too. */
export async function settle(world: World, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await world.gw.deps.db.task.count({ where: { status: { in: ['SUBMITTING', 'IN_PROGRESS'] } } });
    if (open === 0 || Date.now() > deadline) return open;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// ---------------------------------------------------------------- HTTP

export interface Answer {
  status: number;
  contentType: string;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

const REQUEST_TIMEOUT_MS = 15_000;

/** One HTTP request to the gateway; a dropped connection or no answer in time is an error. */
export async function send(
  world: World,
  init: { method?: string; body?: string | Uint8Array; headers?: Record<string, string>; search?: string },
): Promise<Answer> {
  const url = world.gw.graphqlUrl + (init.search ?? '');
  let res: Response;
  try {
    res = await fetch(url, {
      method: init.method ?? 'POST',
      headers: init.headers,
      body: typeof init.body === 'string' || init.body === undefined ? init.body : new Blob([Buffer.from(init.body)]),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    throw new Error(`no HTTP answer (connection dropped or timed out): ${(error as Error).message}; cause: ${String((error as Error).cause ?? '')}`);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text, json };
}

/** POSTs a GraphQL operation as JSON, with the principal's Authorization header. */
export async function postGraphQL(
  world: World,
  principal: Principal,
  payload: { query: unknown; variables?: unknown; operationName?: unknown },
  extraHeaders: Record<string, string> = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...extraHeaders };
  if (principal.authorization !== undefined) headers.authorization = principal.authorization;
  return send(world, { body: JSON.stringify(payload), headers });
}

// ---------------------------------------------------------------- invariants

export interface FuzzRequest {
  /** What was asked, for the report. */
  label: string;
  principal: Principal;
  /** Everything the caller sent (document, variables): what an error message may repeat back. */
  sent: unknown;
  /** The root field (or alias) in `data` that only `scope` may read; omitted for documents fuzzed as a whole. */
  field?: string;
  scope?: Scope;
  /** Which property sent it, for FUZZ_STATS. */
  statsGroup?: string;
  /** A rule of the field's own answer (`data[field]`, when there is one): what is wrong with it, or null. */
  check?: (value: unknown) => string | null;
}

export class InvariantViolation extends Error {}

function short(text: string, max = 1500): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text;
}

function fail(request: FuzzRequest, answer: { status?: number; text: string }, what: string): never {
  throw new InvariantViolation(
    `${what}\n  operation: ${request.label}\n  principal: ${request.principal.kind}` +
      `${request.principal.authorization !== undefined ? ` (${short(JSON.stringify(request.principal.authorization), 120)})` : ''}` +
      `\n  sent: ${short(JSON.stringify(request.sent), 1200)}\n  answer: HTTP ${answer.status ?? '-'} ${short(answer.text)}`,
  );
}

/** Every string the caller sent, and what each decodes to (base64, `Type:id`): an error message may repeat these. */
function sentStrings(sent: unknown): string[] {
  const out: string[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === 'string') {
      out.push(value);
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      out.push(decoded, ...decoded.split(':'));
    } else if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(sent);
  return out;
}

const UNEXPECTED = 'Unexpected error.';
const INTERNAL = 'INTERNAL_SERVER_ERROR';
/**
 * The codes of result union members (src/schema/errors.ts): one of them on a
 * top-level error of a mutation's own field means the mutation threw an
 * error its union does not list (its `errors.types`).
 */
const MEMBER_CODES = new Set([
  'VALIDATION', 'NOT_FOUND', 'IDEMPOTENCY_CONFLICT', 'INSUFFICIENT_CREDITS', 'RATE_LIMITED',
  'SOURCE_NOT_READY', 'UPSTREAM_UNAVAILABLE', 'KEY_LIMIT_EXCEEDED', 'TENANT_SUSPENDED',
]);

function isMutation(sent: unknown): boolean {
  const query = (sent as { query?: unknown } | null)?.query;
  return typeof query === 'string' && /^\s*mutation\b/.test(query);
}
/** What a masked production error must never show. */
const INTERNALS = /PrismaClient|prisma\.|invalid byte sequence|SQLSTATE|\bat (?:async )?\S+ \(|node_modules|violates .* constraint/i;

/** Checks one GraphQL result object (a body, or one SSE event's data) against every invariant. */
export function checkResult(world: World, request: FuzzRequest, answer: { status?: number; text: string }, result: unknown): void {
  if (!result || typeof result !== 'object' || Array.isArray(result)) fail(request, answer, 'the answer is not a GraphQL result object');
  const body = result as { data?: unknown; errors?: unknown };
  if (!('data' in body) && !('errors' in body)) fail(request, answer, 'the answer has neither data nor errors');
  if (body.errors !== undefined) {
    if (!Array.isArray(body.errors) || body.errors.length === 0) fail(request, answer, '`errors` is not a non-empty list');
    for (const error of body.errors as { message?: unknown; path?: unknown; extensions?: { code?: unknown } }[]) {
      if (typeof error?.message !== 'string') fail(request, answer, 'an error without a message');
      if (typeof error.extensions?.code !== 'string') fail(request, answer, 'an error without a string extensions.code');
      if (error.extensions.code === INTERNAL || error.message === UNEXPECTED) {
        fail(request, answer, `an unexpected error (${error.extensions.code}: ${error.message})`);
      }
      if (isMutation(request.sent) && Array.isArray(error.path) && error.path.length === 1 && MEMBER_CODES.has(error.extensions.code)) {
        fail(request, answer, `a ${error.extensions.code} error outside the result union of ${String(error.path[0])}`);
      }
    }
  }
  // Error members of result unions.
  const walkUnions = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(walkUnions);
    if (!value || typeof value !== 'object') return;
    const record = value as Record<string, unknown>;
    const typename = record['__typename'];
    if (typeof typename === 'string' && typename.endsWith('Error') && 'code' in record) {
      if (typeof record['code'] !== 'string') fail(request, answer, `a ${typename} without a string code`);
      if (record['code'] === INTERNAL || record['message'] === UNEXPECTED) fail(request, answer, `an unexpected error member ${typename}`);
    }
    Object.values(record).forEach(walkUnions);
  };
  walkUnions(body.data);

  // Masking: no internals and no suggestions in any message (what the caller sent aside).
  const echoes = sentStrings(request.sent).filter((s) => s.length >= 4);
  const messages: string[] = [];
  const collectMessages = (value: unknown, key?: string): void => {
    if (typeof value === 'string') {
      if (key === 'message') messages.push(value);
    } else if (Array.isArray(value)) value.forEach((v) => collectMessages(v, key));
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) collectMessages(v, k);
  };
  collectMessages(result);
  for (const message of messages) {
    let stripped = message;
    for (const echo of echoes) stripped = stripped.split(echo).join('');
    if (INTERNALS.test(stripped)) fail(request, answer, `internals in an error message: ${short(message, 300)}`);
    // Production hides the schema (no introspection), so no "Did you mean …" either (README).
    if (/Did you mean/.test(stripped)) fail(request, answer, 'a suggestion ("Did you mean …") in production');
  }

  // Scope: a caller without the field's scope reads nothing of it.
  if (request.field && request.scope && !isRightPrincipal(request.principal.kind, request.scope)) {
    const data = body.data as Record<string, unknown> | null | undefined;
    const value = data?.[request.field];
    const field = `the ${scopeLabel(request.scope)} field ${request.field}`;
    if (value != null) {
      const member = typeof value === 'object' && '__typename' in value ? ` (a ${String((value as { __typename: unknown }).__typename)})` : '';
      fail(request, answer, `a ${request.principal.kind} caller got a result${member} for ${field}, not a refusal`);
    }
    if (!body.errors) fail(request, answer, `a ${request.principal.kind} caller got no error for ${field}`);
  }

  // The field's own rule.
  if (request.field && request.check) {
    const data = body.data as Record<string, unknown> | null | undefined;
    if (data && data[request.field] != null) {
      const wrong = request.check(data[request.field]);
      if (wrong) fail(request, answer, wrong);
    }
  }

  // Secrets: no key's secret after it was issued, to anyone. Isolation: nothing
  // of the other tenant nor of the admins' keys. Except what the caller itself
  // sent, repeated in a message.
  const caller = tenantOf(world, request.principal.kind);
  const forbidden: [string, string[]][] = [['a key secret', world.keySecrets]];
  if (caller) {
    const other = otherTenant(world, caller);
    forbidden.push([`tenant ${other.label}'s`, other.secrets], ["the admins'", world.adminSecrets]);
  }
  {
    const sent = JSON.stringify(request.sent);
    const sentDecoded = sentStrings(request.sent).join('\n');
    const inspect = (value: unknown, key?: string): void => {
      if (typeof value === 'string') {
        for (const [whose, secrets] of forbidden) {
          for (const secret of secrets) {
            if (!value.includes(secret)) continue;
            const echoed = key === 'message' && (sent.includes(secret) || sentDecoded.includes(secret));
            if (!echoed) fail(request, answer, `${caller ? `tenant ${caller.label}` : `a ${request.principal.kind} caller`} saw ${whose} ${JSON.stringify(secret)} (in ${key ?? 'a value'})`);
          }
        }
      } else if (Array.isArray(value)) value.forEach((v) => inspect(v, key));
      else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) inspect(v, k);
    };
    inspect(result);
  }
}

// FUZZ_STATS=1 prints, per operation, what the answers were (status, codes,
// result members): to see that the generated inputs reach past validation.
const stats = new Map<string, Map<string, number>>();

function outcomeOf(request: FuzzRequest, answer: Answer): string {
  const body = answer.json as { data?: Record<string, unknown> | null; errors?: { extensions?: { code?: unknown } }[] } | undefined;
  const codes = [...new Set((body?.errors ?? []).map((e) => String(e.extensions?.code)))].sort().join(',');
  const value = request.field ? body?.data?.[request.field] : undefined;
  const member =
    value && typeof value === 'object' && !Array.isArray(value)
      ? String((value as { __typename?: unknown }).__typename ?? 'data') + ((value as { code?: unknown }).code ? `:${String((value as { code?: unknown }).code)}` : '')
      : value === null
        ? 'null'
        : value === undefined
          ? '-'
          : 'data';
  return `${answer.status} ${member}${codes ? ` errors=${codes}` : ''}`;
}

export function printStats(title: string): void {
  if (!process.env.FUZZ_STATS) return;
  const lines = [...stats].map(
    ([label, outcomes]) =>
      `  ${label}\n${[...outcomes].sort((a, b) => b[1] - a[1]).map(([o, n]) => `      ${String(n).padStart(4)}  ${o}`).join('\n')}`,
  );
  console.log(`${title}: outcomes\n${lines.join('\n')}`);
}

/** Checks a whole HTTP answer to a GraphQL request. */
export function checkAnswer(world: World, request: FuzzRequest, answer: Answer): void {
  if (process.env.FUZZ_STATS) {
    const key = `${request.label.replace(/ \(arguments inline\)$/, '')} [${request.statsGroup ?? ''}]`;
    const outcomes = stats.get(key) ?? new Map<string, number>();
    const outcome = outcomeOf(request, answer);
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    stats.set(key, outcomes);
  }
  if (answer.status >= 500) fail(request, answer, `HTTP ${answer.status}`);
  if (answer.json === undefined) fail(request, answer, 'the body is not JSON');
  checkResult(world, request, answer, answer.json);
}

// ---------------------------------------------------------------- SSE

export interface SseAnswer {
  status: number;
  contentType: string;
  /** The body, when the answer was not an event stream. */
  text: string;
  /** The first event (`next` or `complete`) read from the stream, if one came in time. */
  first?: { event: string; data: string };
}

/**
 * Starts an operation over SSE (POST, Accept: text/event-stream), calls
 * `opened` once the stream is open, reads its first event for at most
 * `waitMs`, then aborts it.
 */
export async function startSse(
  world: World,
  principal: Principal,
  payload: unknown,
  waitMs: number,
  opened?: () => Promise<void>,
): Promise<SseAnswer> {
  const controller = new AbortController();
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
  if (principal.authorization !== undefined) headers.authorization = principal.authorization;
  const timer = setTimeout(() => controller.abort(new Error('no answer in time')), REQUEST_TIMEOUT_MS);
  let res: Response;
  try {
    res = await fetch(world.gw.graphqlUrl, { method: 'POST', headers, body: JSON.stringify(payload), signal: controller.signal });
  } catch (error) {
    clearTimeout(timer);
    throw new Error(`no SSE answer (connection dropped or timed out): ${(error as Error).message}`);
  }
  clearTimeout(timer);
  const contentType = res.headers.get('content-type') ?? '';
  try {
    if (!contentType.includes('text/event-stream') || !res.body) return { status: res.status, contentType, text: await res.text() };
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    const deadline = Date.now() + waitMs;
    const pending = opened?.();
    try {
      for (;;) {
        const left = deadline - Date.now();
        if (left <= 0) return { status: res.status, contentType, text: buffer };
        let wait: NodeJS.Timeout | undefined;
        const chunk = await Promise.race([
          reader.read(),
          new Promise<null>((resolve) => {
            wait = setTimeout(() => resolve(null), left);
          }),
        ]);
        clearTimeout(wait);
        if (chunk === null) return { status: res.status, contentType, text: buffer };
        if (chunk.done) return { status: res.status, contentType, text: buffer, ...firstEvent(buffer) };
        buffer += decoder.decode(chunk.value, { stream: true });
        const found = firstEvent(buffer);
        if (found.first) return { status: res.status, contentType, text: buffer, ...found };
      }
    } finally {
      await pending;
    }
  } finally {
    controller.abort();
  }
}

/** The first complete `next` or `complete` event of an SSE body (comments and keep-alives skipped). */
function firstEvent(buffer: string): { first?: { event: string; data: string } } {
  const blocks = buffer.split(/\r?\n\r?\n/);
  blocks.pop(); // the last block may still be arriving
  for (const block of blocks) {
    const lines = block.split(/\r?\n/).filter((l) => l && !l.startsWith(':'));
    if (lines.length === 0) continue;
    const event = lines.find((l) => l.startsWith('event:'))?.slice(6).trim() ?? 'message';
    const data = lines
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).replace(/^ /, ''))
      .join('\n');
    return { first: { event, data } };
  }
  return {};
}

/** Checks an SSE answer: below 500; a JSON body, or a first event whose data is a GraphQL result. */
export function checkSse(world: World, request: FuzzRequest, answer: SseAnswer): void {
  const shown = { status: answer.status, text: answer.first ? `event: ${answer.first.event}\ndata: ${answer.first.data}` : answer.text };
  if (answer.status >= 500) fail(request, shown, `HTTP ${answer.status}`);
  if (!answer.contentType.includes('text/event-stream')) {
    let json: unknown;
    try {
      json = JSON.parse(answer.text);
    } catch {
      fail(request, shown, 'the body is neither an event stream nor JSON');
    }
    checkResult(world, request, shown, json);
    return;
  }
  // Nothing yet (a live feed with no change), or the end of the stream: fine. The
  // one thing a caller without the scope must see at once is its refusal.
  if (!answer.first) {
    if (request.field && request.scope && !isRightPrincipal(request.principal.kind, request.scope)) {
      fail(request, shown, `a ${request.principal.kind} caller's subscription to the ${scopeLabel(request.scope)} ${request.field} opened with no refusal`);
    }
    return;
  }
  if (answer.first.event === 'complete') {
    if (request.field && request.scope && !isRightPrincipal(request.principal.kind, request.scope)) {
      fail(request, shown, `a ${request.principal.kind} caller's subscription to the ${scopeLabel(request.scope)} ${request.field} completed with no refusal`);
    }
    return;
  }
  let json: unknown;
  try {
    json = JSON.parse(answer.first.data);
  } catch {
    fail(request, shown, 'an event whose data is not JSON');
  }
  checkResult(world, request, shown, json);
}
