// Schema conventions frontend teams build on (issue #12): one connection type
// per node type, each with `nodes` and `totalCount`; a tenant-scoped
// node(id:) over every node type, LedgerEntry included; the reseller's
// fields on admin-only types (null for tenants, never FORBIDDEN); and the
// price table for admins. Over real HTTP against a gateway on its own database.
import { getNamedType, GraphQLList, GraphQLNonNull, GraphQLObjectType, type GraphQLOutputType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOG, GENERATION_MODELS } from '../../src/catalog.ts';
import { schema } from '../../src/schema/index.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { rowId, success, type ResultUnion } from '../helpers/graphql.ts';
import { generateOk, waitForEnd } from '../helpers/tasks.ts';

let gw: TestGateway;
let a: { id: string; key: string; keyId: string };
let b: { id: string; key: string; keyId: string };
/** A's tasks (two images, one video) and B's one, all ended. */
const tasks = { aImages: [] as string[], aVideo: '', b: '' };

beforeAll(async () => {
  gw = await startTestGateway();
  a = await gw.createTenant('conn-a', 500);
  b = await gw.createTenant('conn-b', 500);
  for (const prompt of ['one', 'two']) tasks.aImages.push((await generateOk(gw, a.key, 'textToImage', { prompt })).id);
  tasks.aVideo = (await generateOk(gw, a.key, 'textToVideo', { prompt: 'three' })).id;
  tasks.b = (await generateOk(gw, b.key, 'textToImage', { prompt: 'theirs' })).id;
  await waitForEnd(gw, a.key, tasks.aVideo);
  for (const id of tasks.aImages) await waitForEnd(gw, a.key, id);
  await waitForEnd(gw, b.key, tasks.b);
});
afterAll(async () => {
  await gw?.stop();
});

/** The printed type of a field, e.g. `[Task!]!`. */
const printed = (type: unknown) => String(type);

describe('the schema', () => {
  it('has one connection type per node type, each with edges, nodes, pageInfo and totalCount', () => {
    const types = Object.values(schema.getTypeMap()).filter((t): t is GraphQLObjectType => t instanceof GraphQLObjectType);
    const connections = types.filter((t) => t.name.endsWith('Connection'));
    expect(connections.map((t) => t.name).sort()).toEqual([
      'AuditEventConnection',
      'LedgerEntryConnection',
      'TaskConnection',
      'TenantConnection',
      'WebhookDeliveryConnection',
    ]);
    for (const connection of connections) {
      const node = connection.name.replace(/Connection$/, '');
      const fields = connection.getFields();
      expect(printed(fields.edges!.type)).toBe(`[${node}Edge!]!`);
      expect(printed(fields.nodes!.type)).toBe(`[${node}!]!`);
      expect(printed(fields.pageInfo!.type)).toBe('PageInfo!');
      expect(printed(fields.totalCount!.type)).toBe('Int!');
    }
    // Every list of tasks has the same type: one fragment fits them all.
    const query = schema.getQueryType()!.getFields();
    const tenant = schema.getType('Tenant') as GraphQLObjectType;
    expect(printed(query.tasks!.type)).toBe('TaskConnection!');
    expect(printed(tenant.getFields().tasks!.type)).toBe('TaskConnection!');
    for (const [field, type] of [['tenants', 'TenantConnection!'], ['ledgerEntries', 'LedgerEntryConnection!'], ['auditLog', 'AuditEventConnection!'], ['webhookDeliveries', 'WebhookDeliveryConnection!']]) {
      expect(printed(query[field!]!.type)).toBe(type);
    }
  });

  it('keeps admin-only fields on admin-only types, and has a scoped node(id:) (no nodes(ids:))', () => {
    const task = (schema.getType('Task') as GraphQLObjectType).getFields();
    expect(task.upstreamCredits).toBeUndefined();
    expect(printed(task.admin!.type)).toBe('TaskAdminView');
    const usage = (schema.getType('UsageRow') as GraphQLObjectType).getFields();
    expect(printed(usage.admin!.type)).toBe('UsageRowAdminView');
    // The old ones stay for the clients that read them, deprecated: null for tenants, never an error.
    expect([usage.upstreamCredits!.deprecationReason, usage.margin!.deprecationReason]).toEqual(['Use admin { upstreamCredits }', 'Use admin { margin }']);
    const entry = schema.getType('LedgerEntry') as GraphQLObjectType;
    expect(entry.getInterfaces().map((i) => i.name)).toEqual(['Node']);
    const node = schema.getQueryType()!.getFields().node!;
    expect(node.type).toBe(schema.getType('Node'));
    expect(node.args.map((arg) => `${arg.name}: ${printed(arg.type)}`)).toEqual(['id: ID!']);
    expect(schema.getQueryType()!.getFields().nodes).toBeUndefined();
    expect(getNamedType(node.type).name).toBe('Node');
    expect(node.type).not.toBeInstanceOf(GraphQLNonNull);
    expect(schema.getQueryType()!.getFields().prices!.type).toBeInstanceOf(GraphQLNonNull);
    expect((schema.getQueryType()!.getFields().prices!.type as GraphQLNonNull<GraphQLList<GraphQLOutputType>>).ofType).toBeInstanceOf(GraphQLList);
  });
});

describe('connections', () => {
  const PAGE = `fragment Page on TaskConnection { totalCount nodes { id model } edges { cursor node { id } } pageInfo { hasNextPage endCursor } }`;
  type Page = { totalCount: number; nodes: { id: string; model: string }[]; edges: { cursor: string; node: { id: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } };

  it("counts the whole list with the list's own filter and tenant, whatever the page; nodes are the edges' nodes", async () => {
    const res = await gw.gql<{ images: Page; all: Page }>(
      `query { images: tasks(first: 1, model: TEXT_TO_IMAGE) { ...Page } all: tasks(first: 10) { ...Page } } ${PAGE}`,
      {},
      a.key,
    );
    expect(res.errors).toBeUndefined();
    const { images, all } = res.data!;
    expect(images.totalCount).toBe(2);
    expect(images.nodes).toHaveLength(1);
    expect(images.nodes.map((n) => n.id)).toEqual(images.edges.map((e) => e.node.id));
    expect(images.pageInfo.hasNextPage).toBe(true);
    // B's task is not A's: three, not four.
    expect(all.totalCount).toBe(3);
    expect(all.nodes.map((n) => n.id).sort()).toEqual([...tasks.aImages, tasks.aVideo].sort());

    // The next page: the count is still the whole list's, not what is left after the cursor.
    const next = await gw.gql<{ tasks: Page }>(
      `query($after: String) { tasks(first: 1, model: TEXT_TO_IMAGE, after: $after) { ...Page } } ${PAGE}`,
      { after: images.pageInfo.endCursor },
      a.key,
    );
    expect(next.data!.tasks.totalCount).toBe(2);
    expect(next.data!.tasks.nodes.map((n) => n.id)).not.toEqual(images.nodes.map((n) => n.id));
  });

  it('the same fragment fits the tenant-scoped list and an admin\'s Tenant.tasks', async () => {
    const res = await gw.gql<{ tenant: { tasks: Page } }>(`query($id: ID!) { tenant(id: $id) { tasks(first: 2) { ...Page } } } ${PAGE}`, { id: a.id });
    expect(res.errors).toBeUndefined();
    expect(res.data!.tenant.tasks.totalCount).toBe(3);
    expect(res.data!.tenant.tasks.nodes).toHaveLength(2);
  });

  it('every other connection counts what the database holds for the caller', async () => {
    const db = gw.deps.db;
    const own = await gw.gql<{ ledgerEntries: { totalCount: number; nodes: unknown[] }; webhookDeliveries: { totalCount: number } }>(
      `{ ledgerEntries(first: 1) { totalCount nodes { id } } webhookDeliveries(first: 1) { totalCount } }`,
      {},
      a.key,
    );
    expect(own.errors).toBeUndefined();
    expect(own.data!.ledgerEntries.totalCount).toBe(await db.entry.count({ where: { account: { tenantId: rowId(a.id) } } }));
    expect(own.data!.ledgerEntries.totalCount).toBeGreaterThan(1);
    expect(own.data!.ledgerEntries.nodes).toHaveLength(1);
    expect(own.data!.webhookDeliveries.totalCount).toBe(await db.webhookDelivery.count({ where: { tenantId: rowId(a.id) } }));

    const admin = await gw.gql<{ tenants: { totalCount: number }; all: { totalCount: number }; ofA: { totalCount: number } }>(
      `query($id: ID!) { tenants(first: 1) { totalCount } all: auditLog(first: 1) { totalCount } ofA: auditLog(first: 1, tenantId: $id) { totalCount } }`,
      { id: a.id },
    );
    expect(admin.errors).toBeUndefined();
    expect(admin.data!.tenants.totalCount).toBe(await db.tenant.count());
    expect(admin.data!.all.totalCount).toBe(await db.auditEvent.count());
    expect(admin.data!.ofA.totalCount).toBe(await db.auditEvent.count({ where: { tenantId: rowId(a.id) } }));
    expect(admin.data!.ofA.totalCount).toBeLessThan(admin.data!.all.totalCount);
  });
});

describe('node(id:)', () => {
  const NODE = `query($id: ID!) { node(id: $id) { __typename id
    ... on Task { status admin { upstreamCredits } }
    ... on Tenant { name }
    ... on ApiKey { prefix }
    ... on LedgerEntry { amount kind }
    ... on AuditEvent { action } } }`;
  const node = async (id: string, token?: string) => {
    const res = await gw.gql<{ node: ({ __typename: string; id: string } & Record<string, unknown>) | null }>(NODE, { id }, token);
    expect(res.errors).toBeUndefined();
    return res.data!.node;
  };
  const globalId = (text: string) => Buffer.from(text).toString('base64');

  it("gives a tenant its own objects of every type, and null for another tenant's, a malformed or an unknown id", async () => {
    expect(await node(tasks.aVideo, a.key)).toMatchObject({ __typename: 'Task', id: tasks.aVideo, admin: null });
    expect(await node(a.id, a.key)).toEqual({ __typename: 'Tenant', id: a.id, name: 'conn-a' });
    const key = await node(a.keyId, a.key);
    expect(key).toMatchObject({ __typename: 'ApiKey', id: a.keyId });

    const entries = await gw.gql<{ ledgerEntries: { nodes: { id: string; amount: number; kind: string }[] } }>(
      `{ ledgerEntries(first: 1) { nodes { id amount kind } } }`,
      {},
      a.key,
    );
    const entry = entries.data!.ledgerEntries.nodes[0]!;
    expect(await node(entry.id, a.key)).toEqual({ __typename: 'LedgerEntry', ...entry });
    // The entry's id is opaque: a global id around its integer id.
    expect(Buffer.from(entry.id, 'base64').toString()).toMatch(/^LedgerEntry:\d+$/);

    // Another tenant's objects, and ids that are not ids at all: the same null, no error.
    const bEntry = (await gw.gql<{ ledgerEntries: { nodes: { id: string }[] } }>(`{ ledgerEntries(first: 1) { nodes { id } } }`, {}, b.key)).data!
      .ledgerEntries.nodes[0]!.id;
    for (const id of [tasks.b, b.id, b.keyId, bEntry, 'not-an-id', globalId('Task:not-a-uuid'), globalId('LedgerEntry:-1'), globalId(`Task:${crypto.randomUUID()}`), globalId(`constructor:${crypto.randomUUID()}`), '']) {
      expect(await node(id, a.key)).toBeNull();
    }
  });

  it("answers null where the key lacks the type's scope, and for audit events, which are the admins'", async () => {
    const issued = await gw.gql<{ issueApiKey: ResultUnion<{ secret: string }> }>(
      `mutation($id: ID!) { issueApiKey(input: { tenantId: $id, name: "generate-only", scopes: [GENERATE] }) {
         __typename ... on MutationIssueApiKeySuccess { data { secret } } ... on Error { code message } } }`,
      { id: a.id },
    );
    const generateOnly = success(issued.data!.issueApiKey).secret;
    expect(await node(tasks.aVideo, generateOnly)).toBeNull();
    const audit = await gw.gql<{ auditLog: { nodes: { id: string; action: string }[] } }>(`query($id: ID!) { auditLog(first: 1, tenantId: $id) { nodes { id action } } }`, { id: a.id });
    const event = audit.data!.auditLog.nodes[0]!;
    expect(await node(event.id, a.key)).toBeNull();
    expect(await node(event.id)).toEqual({ __typename: 'AuditEvent', ...event });
  });

  it("gives admins every tenant's objects, with the admin-only part of a task", async () => {
    const task = await node(tasks.b);
    expect(task).toMatchObject({ __typename: 'Task', id: tasks.b });
    expect(task!.admin).toEqual({ upstreamCredits: expect.any(Number) });
    expect(await node(b.id)).toMatchObject({ __typename: 'Tenant', name: 'conn-b' });
    expect(await node('not-an-id')).toBeNull();
  });

  it('is refused without a key', async () => {
    const res = await gw.gql(NODE, { id: tasks.aVideo }, null);
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('the admin-only part of a task', () => {
  it('is there for admins and null for tenants, in one shared fragment that never fails', async () => {
    const FRAGMENT = 'fragment Row on Task { id creditsCharged admin { upstreamCredits } }';
    const own = await gw.gql<{ tasks: { nodes: { admin: unknown }[] } }>(`{ tasks(first: 5) { nodes { ...Row } } } ${FRAGMENT}`, {}, a.key);
    expect(own.errors).toBeUndefined();
    expect(own.data!.tasks.nodes.map((t) => t.admin)).toEqual([null, null, null]);
    const admin = await gw.gql<{ tenant: { tasks: { nodes: { admin: { upstreamCredits: number | null } }[] } } }>(
      `query($id: ID!) { tenant(id: $id) { tasks(first: 5) { nodes { ...Row } } } } ${FRAGMENT}`,
      { id: a.id },
    );
    expect(admin.errors).toBeUndefined();
    const rows = await gw.deps.db.task.findMany({ where: { tenantId: rowId(a.id) }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
    expect(admin.data!.tenant.tasks.nodes.map((t) => t.admin.upstreamCredits)).toEqual(rows.map((r) => r.upstreamCredits));
  });
});

describe('the admin-only part of a usage row', () => {
  it('is there for admins and null for tenants; the deprecated fields beside it say the same', async () => {
    const input = { from: new Date(Date.now() - 86_400_000).toISOString(), to: new Date(Date.now() + 86_400_000).toISOString(), tenantId: a.id };
    type Row = { upstreamCredits: number | null; margin: number | null; admin: { upstreamCredits: number; margin: number } | null };
    const QUERY = 'query($input: UsageReportInput!) { usageReport(input: $input) { upstreamCredits margin admin { upstreamCredits margin } } }';
    const admin = await gw.gql<{ usageReport: Row[] }>(QUERY, { input });
    expect(admin.errors).toBeUndefined();
    expect(admin.data!.usageReport).toHaveLength(2);
    for (const row of admin.data!.usageReport) {
      expect(row.admin).toEqual({ upstreamCredits: expect.any(Number), margin: expect.any(Number) });
      expect({ upstreamCredits: row.upstreamCredits, margin: row.margin }).toEqual(row.admin);
    }
    const own = await gw.gql<{ usageReport: Row[] }>(QUERY, { input }, a.key);
    expect(own.errors).toBeUndefined();
    expect(own.data!.usageReport).toEqual([
      { upstreamCredits: null, margin: null, admin: null },
      { upstreamCredits: null, margin: null, admin: null },
    ]);
  });
});

describe('prices for admins', () => {
  type Price = { model: string; credits: number };
  const DEFAULTS = GENERATION_MODELS.map((model) => ({ model, credits: CATALOG[model].defaultPrice }));
  const REMOVE = `mutation($input: RemovePriceInput!) { removePrice(input: $input) {
    __typename ... on MutationRemovePriceSuccess { data { model credits } } ... on Error { code message } } }`;
  const setPrice = async (model: string, credits: number, tenantId?: string) => {
    const res = await gw.gql<{ setPrice: ResultUnion<Price> }>(
      `mutation($input: SetPriceInput!) { setPrice(input: $input) { __typename ... on MutationSetPriceSuccess { data { model credits } } ... on Error { code message } } }`,
      { input: { model, credits, tenantId } },
    );
    return success(res.data!.setPrice);
  };
  const prices = async (tenantId?: string, token?: string) => {
    const res = await gw.gql<{ prices: Price[] }>(`query($id: ID) { prices(tenantId: $id) { model credits } }`, { id: tenantId }, token);
    expect(res.errors).toBeUndefined();
    return res.data!.prices;
  };
  const overrides = async (tenantId: string) =>
    (await gw.gql<{ tenant: { priceOverrides: Price[] } }>(`query($id: ID!) { tenant(id: $id) { priceOverrides { model credits } } }`, { id: tenantId })).data!
      .tenant.priceOverrides;
  const withPrice = (table: Price[], model: string, credits: number) => table.map((p) => (p.model === model ? { model, credits } : p));

  it('reads the default table and a tenant\'s prices and overrides; removing an override is audited and returns the price now', async () => {
    expect(await prices()).toEqual(DEFAULTS);
    await setPrice('UPSCALE', 15);
    await setPrice('UPSCALE', 11, a.id);
    await setPrice('TEXT_TO_VIDEO', 30, a.id);
    expect(await prices()).toEqual(withPrice(DEFAULTS, 'UPSCALE', 15));
    expect(await prices(a.id)).toEqual(withPrice(withPrice(DEFAULTS, 'UPSCALE', 11), 'TEXT_TO_VIDEO', 30));
    expect(await prices(b.id)).toEqual(withPrice(DEFAULTS, 'UPSCALE', 15));
    expect(await overrides(a.id)).toEqual([{ model: 'TEXT_TO_VIDEO', credits: 30 }, { model: 'UPSCALE', credits: 11 }]);
    expect(await overrides(b.id)).toEqual([]);

    // The tenant sees the same, for itself only.
    expect(await prices(undefined, a.key)).toEqual(await prices(a.id));
    expect(await prices(a.id, a.key)).toEqual(await prices(a.id));
    const mine = await gw.gql<{ me: { priceOverrides: Price[] } }>(`{ me { priceOverrides { model credits } } }`, {}, a.key);
    expect(mine.data!.me.priceOverrides).toEqual(await overrides(a.id));
    const foreign = await gw.gql(`query($id: ID) { prices(tenantId: $id) { model } }`, { id: b.id }, a.key);
    expect(foreign.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

    // Remove A's UPSCALE override: it pays the default again.
    const removed = await gw.gql<{ removePrice: ResultUnion<Price> }>(REMOVE, { input: { model: 'UPSCALE', tenantId: a.id } });
    expect(success(removed.data!.removePrice)).toEqual({ model: 'UPSCALE', credits: 15 });
    expect(await prices(a.id)).toEqual(withPrice(withPrice(DEFAULTS, 'UPSCALE', 15), 'TEXT_TO_VIDEO', 30));
    expect(await overrides(a.id)).toEqual([{ model: 'TEXT_TO_VIDEO', credits: 30 }]);
    const audit = await gw.gql<{ auditLog: { nodes: { action: string; details: unknown }[] } }>(
      `query($id: ID!) { auditLog(first: 1, tenantId: $id) { nodes { action details } } }`,
      { id: a.id },
    );
    expect(audit.data!.auditLog.nodes[0]).toEqual({ action: 'price.remove', details: { model: 'UPSCALE', scope: 'tenant' } });

    // Remove the default: back to the catalogue's.
    const removedDefault = await gw.gql<{ removePrice: ResultUnion<Price> }>(REMOVE, { input: { model: 'UPSCALE' } });
    expect(success(removedDefault.data!.removePrice)).toEqual({ model: 'UPSCALE', credits: CATALOG.UPSCALE.defaultPrice });
    expect(await prices()).toEqual(DEFAULTS);
  });

  it('answers NOT_FOUND for a price that is not there or an unknown tenant; tenants may not remove prices', async () => {
    for (const input of [{ model: 'UPSCALE', tenantId: a.id }, { model: 'UPSCALE' }, { model: 'UPSCALE', tenantId: Buffer.from(`Tenant:${crypto.randomUUID()}`).toString('base64') }]) {
      const res = await gw.gql<{ removePrice: ResultUnion<Price> }>(REMOVE, { input });
      expect(res.data!.removePrice).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
    }
    const asTenant = await gw.gql(REMOVE, { input: { model: 'TEXT_TO_VIDEO', tenantId: a.id } }, a.key);
    expect(asTenant.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await overrides(a.id)).toEqual([{ model: 'TEXT_TO_VIDEO', credits: 30 }]);
  });
});
