// task(id) and the lists of tasks read only what a client sees of a task
// (tasks/reads.ts, TaskView), in one statement on the pool; node(id:) reads
// the whole row through the Prisma client. Every field of the Task type,
// taken from the schema itself (so a field added later is covered), must
// resolve the same from both, for a tenant and for an admin. Over real HTTP.
import { getNamedType, GraphQLObjectType, isLeafType, type GraphQLField } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../src/schema/index.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { generateOk, waitForEnd } from '../helpers/tasks.ts';

let gw: TestGateway;
let tenant: { id: string; key: string };
const ids: string[] = [];

/** Every field of Task; an object field by its leaf fields (sourceTask, admin). */
function everyTaskField(): string {
  const task = schema.getType('Task') as GraphQLObjectType;
  const leaves = (type: GraphQLObjectType) =>
    Object.values(type.getFields())
      .filter((f) => isLeafType(getNamedType(f.type)) && f.args.length === 0)
      .map((f) => f.name)
      .join(' ');
  return Object.values(task.getFields())
    .map((field: GraphQLField<unknown, unknown>) => {
      const named = getNamedType(field.type);
      return named instanceof GraphQLObjectType ? `${field.name} { ${leaves(named)} }` : field.name;
    })
    .join('\n');
}
const FIELDS = everyTaskField();

beforeAll(async () => {
  gw = await startTestGateway();
  tenant = await gw.createTenant('reads', 500);
  const image = await generateOk(gw, tenant.key, 'textToImage', { prompt: 'a lighthouse', public: true });
  await waitForEnd(gw, tenant.key, image.id);
  const upscaled = await generateOk(gw, tenant.key, 'upscale', { sourceTaskId: image.id });
  await waitForEnd(gw, tenant.key, upscaled.id);
  ids.push(image.id, upscaled.id);
});
afterAll(async () => {
  await gw?.stop();
});

describe('a task read in one statement resolves every Task field as the whole row does', () => {
  it('covers the object fields too', () => {
    expect(FIELDS).toContain('sourceTask {');
    expect(FIELDS).toContain('admin { upstreamCredits');
  });

  for (const who of ['tenant', 'admin'] as const) {
    it(`for ${who === 'tenant' ? 'the tenant' : 'an admin'}: task(id) / the list of tasks against node(id:)`, async () => {
      const token = who === 'tenant' ? tenant.key : undefined;
      const whole = async (id: string) => {
        const res = await gw.gql<{ node: Record<string, unknown> }>(`query($id: ID!) { node(id: $id) { ... on Task { ${FIELDS} } } }`, { id }, token);
        expect(res.errors).toBeUndefined();
        return res.data!.node;
      };
      const list =
        who === 'tenant'
          ? await gw.gql<{ tasks: { nodes: Record<string, unknown>[] } }>(`{ tasks(first: 10) { nodes { ${FIELDS} } } }`, {}, token)
          : await gw.gql<{ tenant: { tasks: { nodes: Record<string, unknown>[] } } }>(
              `query($id: ID!) { tenant(id: $id) { tasks(first: 10) { nodes { ${FIELDS} } } } }`,
              { id: tenant.id },
            );
      expect(list.errors).toBeUndefined();
      const nodes = 'tasks' in list.data! ? list.data.tasks.nodes : list.data!.tenant.tasks.nodes;
      expect(nodes.map((n) => n['id'])).toEqual([...ids].reverse());
      for (const id of ids) {
        const expected = await whole(id);
        expect(nodes.find((n) => n['id'] === id)).toEqual(expected);
        if (who === 'tenant') {
          const one = await gw.gql<{ task: Record<string, unknown> }>(`query($id: ID!) { task(id: $id) { ${FIELDS} } }`, { id }, token);
          expect(one.errors).toBeUndefined();
          expect(one.data!.task).toEqual(expected);
        }
      }
      // What the comparison covers: an admin sees upstream's charge, the upscale names its source.
      const upscaled = await whole(ids[1]!);
      expect(upscaled['sourceTask']).toMatchObject({ id: ids[0] });
      if (who === 'admin') expect(upscaled['admin']).toEqual({ upstreamCredits: expect.any(Number) });
      else expect(upscaled['admin']).toBeNull();
    });
  }
});

describe('me reads its tenant row only when a field of the row is asked', () => {
  it('answers the balance alone, and the row through fields, inline fragments and fragment spreads', async () => {
    const ask = async (query: string) => {
      const res = await gw.gql<{ me: Record<string, unknown> }>(query, {}, tenant.key);
      expect(res.errors).toBeUndefined();
      return res.data!.me;
    };
    const balance = { available: expect.any(Number), held: 0, low: false };
    expect(await ask('{ me { id balance { available held low } } }')).toEqual({ id: expect.any(String), balance });
    expect(await ask('{ me { balance { available held low } ... on Tenant { name } } }')).toEqual({ balance, name: 'reads' });
    expect(await ask('fragment F on Tenant { status } { me { balance { available held low } ...F } }')).toEqual({ balance, status: 'ACTIVE' });
    expect(await ask('fragment B on Tenant { balance { available held low } } { me { ...B } }')).toEqual({ balance });
  });
});
