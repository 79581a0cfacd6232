// An admin's tenant list narrowed on the server (the console's search box):
// `tenants(search:, status:)` over real HTTP, with totalCount and paging
// under the same filter, and its input checked like every other.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { rowId } from '../helpers/graphql.ts';

let gw: TestGateway;
const ids: Record<string, string> = {};

beforeAll(async () => {
  gw = await startTestGateway();
  for (const name of ['Acme Studio', 'acme labs', 'Zebra Films', 'Other']) ids[name] = (await gw.createTenant(name)).id;
  const suspended = await gw.gql(`mutation($id: ID!) { suspendTenant(input: { tenantId: $id, reason: "unpaid" }) { __typename } }`, {
    id: ids['acme labs'],
  });
  expect(suspended.errors).toBeUndefined();
});
afterAll(async () => {
  await gw?.stop();
});

type Page = { tenants: { totalCount: number; nodes: { id: string; name: string; status: string }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } };

async function search(args: string, variables: Record<string, unknown> = {}, token?: string) {
  return gw.gql<Page>(
    `query($search: String, $status: TenantStatus, $first: Int, $after: String) {
       tenants(search: $search, status: $status, first: $first, after: $after) {
         totalCount nodes { id name status } pageInfo { hasNextPage endCursor }
       }
     }`,
    { ...variables, ...JSON.parse(args) },
    token,
  );
}

const names = (page: Page) => page.tenants.nodes.map((t) => t.name);

describe('tenants(search:, status:)', () => {
  it('search matches part of the name in any case, newest first; totalCount counts the matches', async () => {
    const { data, errors } = await search('{"search": "ACME"}');
    expect(errors).toBeUndefined();
    expect(names(data!)).toEqual(['acme labs', 'Acme Studio']);
    expect(data!.tenants.totalCount).toBe(2);
    expect(names((await search('{"search": "  films "}')).data!)).toEqual(['Zebra Films']);
    expect((await search('{"search": "nobody"}')).data!.tenants).toMatchObject({ totalCount: 0, nodes: [] });
  });

  it('search by exact id finds the tenant, given as its global id or as its uuid', async () => {
    const globalId = ids['Zebra Films']!;
    expect(names((await search(JSON.stringify({ search: globalId }))).data!)).toEqual(['Zebra Films']);
    expect(names((await search(JSON.stringify({ search: rowId(globalId) }))).data!)).toEqual(['Zebra Films']);
  });

  it('status narrows, alone or with search; paging keeps the filter', async () => {
    expect(names((await search('{"status": "SUSPENDED"}')).data!)).toEqual(['acme labs']);
    expect(names((await search('{"search": "acme", "status": "ACTIVE"}')).data!)).toEqual(['Acme Studio']);
    const first = (await search('{"search": "a", "first": 1}')).data!.tenants;
    expect(first.totalCount).toBe(3); // Acme Studio, acme labs, Zebra Films
    const rest = (await search(JSON.stringify({ search: 'a', first: 10, after: first.pageInfo.endCursor }))).data!.tenants;
    expect([...first.nodes, ...rest.nodes].map((t) => t.name)).toEqual(['Zebra Films', 'acme labs', 'Acme Studio']);
    expect(rest.pageInfo.hasNextPage).toBe(false);
  });

  it('an empty or overlong search is VALIDATION naming the argument; a tenant key is FORBIDDEN', async () => {
    for (const text of ['   ', 'x'.repeat(201)]) {
      const { data, errors } = await search(JSON.stringify({ search: text }));
      expect(data?.tenants ?? null).toBeNull();
      expect(errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION' });
      expect(JSON.stringify(errors?.[0]?.extensions?.field)).toContain('search');
    }
    const tenant = await gw.createTenant('searcher');
    const { errors } = await search('{"search": "acme"}', {}, tenant.key);
    expect(errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN' });
  });
});
