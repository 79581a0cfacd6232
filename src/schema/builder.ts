import SchemaBuilder from '@pothos/core';
import ErrorsPlugin from '@pothos/plugin-errors';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { GraphQLError } from 'graphql';
import type PrismaTypes from '../generated/pothos-types.ts';
import { getDatamodel } from '../generated/pothos-types.ts';
import type { Context } from '../server/context.ts';

// The one schema builder. Domain folders register their types on import;
// schema/index.ts imports them all and calls toSchema().
export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  AuthScopes: { admin: boolean; tenant: boolean };
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    ID: { Input: string; Output: string | bigint };
  };
  DefaultFieldNullability: false;
}>({
  defaultFieldNullability: false,
  plugins: [ScopeAuthPlugin, ErrorsPlugin, PrismaPlugin, RelayPlugin],
  scopeAuth: {
    // Check scopes when a subscription starts, not only when each event resolves.
    authorizeOnSubscribe: true,
    authScopes: (ctx) => ({
      admin: ctx.principal?.kind === 'admin',
      tenant: ctx.principal?.kind === 'tenant',
    }),
    // No principal: 401 UNAUTHENTICATED. Wrong principal: 403 FORBIDDEN.
    unauthorizedError: (_parent, ctx) =>
      ctx.principal
        ? new GraphQLError('Not allowed for this API key', {
            extensions: { code: 'FORBIDDEN', http: { status: 403 } },
          })
        : new GraphQLError('Authentication required: send Authorization: Bearer <API key>', {
            extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
          }),
  },
  errors: {
    defaultTypes: [],
  },
  prisma: {
    client: (ctx) => ctx.db,
    dmmf: getDatamodel(),
    filterConnectionTotalCount: true,
    onUnusedQuery: null,
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    // node(id)/nodes(ids) would resolve any type by id, bypassing tenant
    // scoping; every type has its own scoped query instead.
    nodeQueryOptions: false,
    nodesQueryOptions: false,
  },
});

builder.queryType({});
builder.mutationType({});

builder.scalarType('DateTime', {
  description: 'An ISO-8601 timestamp in UTC',
  serialize: (value) => value.toISOString(),
  parseValue: (value) => {
    const date = typeof value === 'string' ? new Date(value) : new Date(Number.NaN);
    if (Number.isNaN(date.getTime())) throw new GraphQLError('DateTime must be an ISO-8601 string');
    return date;
  },
});
