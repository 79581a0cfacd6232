// Finding 5 of the hardening issue: a malformed cursor gave a 500, and a
// cursor built from another tenant's task id changed which of your own rows
// you got (an oracle). Now cursors are opaque, validated and bound to the
// list and the caller (src/schema/cursors.ts): anything else is VALIDATION,
// the same answer whether or not the row it names exists.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { rowId } from '../helpers/graphql.ts';
import { generateOk } from '../helpers/tasks.ts';
import { TRANSPORTS, type Answer } from '../helpers/transports.ts';

let gw: TestGateway;
let a: { id: string; key: string };
let b: { id: string; key: string };
const tasksOf: Record<string, string[]> = {};

const TASKS = `query($first: Int, $after: String, $last: Int, $before: String) {
  tasks(first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`;

interface Page {
  edges: { cursor: string; node: { id: string } }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string; endCursor: string };
}

async function tasks(key: string, args: Record<string, unknown>): Promise<Page> {
  const res = await gw.gql<{ tasks: Page }>(TASKS, args, key);
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data!.tasks;
}

beforeAll(async () => {
  gw = await startTestGateway({ NODE_ENV: 'production' });
  a = await gw.createTenant('cursor a', 1000);
  b = await gw.createTenant('cursor b', 1000);
  for (const t of [a, b]) {
    tasksOf[t.id] = [];
    for (let i = 0; i < 5; i++) tasksOf[t.id]!.push((await generateOk(gw, t.key, 'textToImage', { prompt: `p${i}` })).id);
  }
  // Two of A's tasks created in the same millisecond: the id breaks the tie.
  await gw.deps.db.task.updateMany({ where: { id: { in: tasksOf[a.id]!.slice(1, 3).map(rowId) } }, data: { createdAt: new Date('2026-01-01T00:00:00Z') } });
});
afterAll(async () => {
  await gw?.stop();
});

describe('paging', () => {
  it('first/after walks every row once, newest first, and last/before walks back', async () => {
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await tasks(a.key, { first: 2, after });
      seen.push(...page.edges.map((e) => e.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toHaveLength(5);
    expect(new Set(seen)).toEqual(new Set(tasksOf[a.id]));
    const back: string[] = [];
    let before: string | undefined;
    for (;;) {
      const page = await tasks(a.key, { last: 2, before });
      back.unshift(...page.edges.map((e) => e.node.id));
      if (!page.pageInfo.hasPreviousPage) break;
      before = page.pageInfo.startCursor;
    }
    expect(back).toEqual(seen);
  });
});

describe('cursors that are not this list\'s', () => {
  let foreign: string;
  beforeAll(async () => {
    foreign = (await tasks(b.key, { first: 1 })).edges[0]!.cursor;
  });

  const refused = (answer: Answer, field: string) => {
    expect(answer.errors).toMatchObject([{ extensions: { code: 'VALIDATION', field: [field] }, message: `${field}: is not a cursor of this list` }]);
    expect(answer.status === 101 || answer.status < 500).toBe(true);
  };

  describe.each(Object.entries(TRANSPORTS))('over %s', (_name, send) => {
    const BAD = ['', 'x', '!!!', 'R1BDOlM6YWJj', Buffer.from('[1,"tag",0,"00000000-0000-0000-0000-000000000000"]').toString('base64url'), 'a'.repeat(5000)];
    for (const cursor of BAD) {
      it(`a malformed cursor (${JSON.stringify(cursor.slice(0, 20))}) is VALIDATION`, async () => {
        const answer = await send(gw.graphqlUrl, { query: TASKS, variables: { first: 2, after: cursor }, token: a.key });
        if (cursor === '') expect(answer.errors).toEqual([]);
        else refused(answer, 'after');
      });
    }

    it("another tenant's cursor is VALIDATION, in after and before alike", async () => {
      refused(await send(gw.graphqlUrl, { query: TASKS, variables: { first: 2, after: foreign }, token: a.key }), 'after');
      refused(await send(gw.graphqlUrl, { query: TASKS, variables: { last: 2, before: foreign }, token: a.key }), 'before');
    });
  });

  it("a cursor of another list, or of the admin's view of a tenant, is VALIDATION", async () => {
    const deliveries = await gw.gql<{ webhookDeliveries: unknown }>(
      'query($after: String) { webhookDeliveries(first: 1, after: $after) { edges { cursor } } }',
      { after: (await tasks(a.key, { first: 1 })).edges[0]!.cursor },
      a.key,
    );
    expect(deliveries.errors).toMatchObject([{ extensions: { code: 'VALIDATION', field: ['after'] } }]);

    const adminView = await gw.gql<{ tenant: { tasks: Page } }>(
      'query($id: ID!) { tenant(id: $id) { tasks(first: 1) { edges { cursor } } } }',
      { id: a.id },
      ADMIN_TOKEN,
    );
    const adminCursor = adminView.data!.tenant.tasks.edges[0]!.cursor;
    const res = await gw.gql(TASKS, { first: 1, after: adminCursor }, a.key);
    expect(res.errors).toMatchObject([{ extensions: { code: 'VALIDATION', field: ['after'] } }]);
    const otherTenant = await gw.gql(
      'query($id: ID!, $after: String) { tenant(id: $id) { tasks(first: 1, after: $after) { edges { cursor } } } }',
      { id: b.id, after: adminCursor },
      ADMIN_TOKEN,
    );
    expect(otherTenant.errors).toMatchObject([{ extensions: { code: 'VALIDATION', field: ['after'] } }]);
  });

  it('ledgerEntries cursors are opaque too: a made-up id is VALIDATION', async () => {
    const res = await gw.gql('{ ledgerEntries(first: 1, after: "999999999999999999") { edges { cursor } } }', {}, a.key);
    expect(res.errors).toMatchObject([{ extensions: { code: 'VALIDATION', field: ['after'] } }]);
  });
});

describe('no oracle', () => {
  it("a cursor made up from another tenant's task reads nothing of it: the same answer as one made up from nothing", async () => {
    // The old cursors were the row id behind a prefix: the forgery an attacker would try.
    const forged = (uuid: string) => Buffer.from(`GPC:S:${uuid}`).toString('base64');
    const ofB = await gw.gql(TASKS, { first: 5, after: forged(rowId(tasksOf[b.id]![2]!)) }, a.key);
    const ofNothing = await gw.gql(TASKS, { first: 5, after: forged('00000000-0000-4000-8000-000000000000') }, a.key);
    expect(ofB).toEqual(ofNothing);
    expect(ofB.errors).toMatchObject([{ extensions: { code: 'VALIDATION' } }]);
  });
});
