import SchemaBuilder from '@pothos/core';
import ErrorsPlugin from '@pothos/plugin-errors';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import ValidationPlugin from '@pothos/plugin-validation';
import { GraphQLError } from 'graphql';
import { ValidationError } from '../errors.ts';
import type { ApiKeyScope } from '../generated/prisma/enums.ts';
import type PrismaTypes from '../generated/pothos-types.ts';
import { getDatamodel } from '../generated/pothos-types.ts';
import { decodeNodeId } from './ids.ts';
import AuthorizeFirstPlugin from './authorize-first.ts';
import StorableTextPlugin from './storable-text.ts';
import type { Context } from '../server/context.ts';

// The one schema builder. Domain folders register their types on import;
// schema/index.ts imports them all and calls toSchema().
//
// Input is parsed once, by the schema: ids are the relay plugin's global ids
// (`t.arg.globalID({ for })`, decoded and checked before the resolver), and
// every other rule is a zod schema of the module that owns it, applied by the
// validation plugin. Plugin order matters: argument mappers run from the last
// plugin to the first, so the relay plugin (after validation in the list)
// decodes ids before the validation plugin sees the input, and the
// storable-text rule (last) checks every string before either; the errors
// plugin turns any of their failures into the `ValidationError` member of a
// mutation's result. Before any of them, authorize-first refuses a caller
// without the field's scope (UNAUTHENTICATED, FORBIDDEN), so input is only
// judged for those allowed to send it.
export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  // `tenant`: any tenant key; the others: a tenant key with that ApiKeyScope.
  AuthScopes: { admin: boolean; tenant: boolean; generate: boolean; read: boolean; manageKeys: boolean; webhooks: boolean };
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    ID: { Input: string; Output: string | bigint };
    JSON: { Input: never; Output: unknown };
  };
  // What every connection resolver returns besides edges and pageInfo: its
  // list's size, counted only when a client asks for totalCount.
  Connection: { totalCount: () => Promise<number> };
  DefaultFieldNullability: false;
}>({
  defaultFieldNullability: false,
  plugins: [ScopeAuthPlugin, AuthorizeFirstPlugin, ErrorsPlugin, ValidationPlugin, RelayPlugin, PrismaPlugin, StorableTextPlugin],
  scopeAuth: {
    // Check scopes when a subscription starts, not only when each event resolves.
    authorizeOnSubscribe: true,
    authScopes: (ctx) => {
      const p = ctx.principal;
      const has = (scope: ApiKeyScope) => p?.kind === 'tenant' && p.scopes.includes(scope);
      return {
        admin: p?.kind === 'admin',
        tenant: p?.kind === 'tenant',
        generate: has('GENERATE'),
        read: has('READ'),
        manageKeys: has('MANAGE_KEYS'),
        webhooks: has('WEBHOOKS'),
      };
    },
    // No principal: 401 UNAUTHENTICATED. Wrong principal or scope: 403 FORBIDDEN.
    unauthorizedError: (_parent, ctx) =>
      ctx.principal
        ? new GraphQLError(
            ctx.principal.kind === 'tenant'
              ? `Not allowed for this API key (its scopes: ${ctx.principal.scopes.join(', ') || 'none'})`
              : 'Not allowed for this API key',
            { extensions: { code: 'FORBIDDEN', http: { status: 403 } } },
          )
        : new GraphQLError('Authentication required: send Authorization: Bearer <API key>', {
            extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
          }),
  },
  errors: {
    defaultTypes: [],
    // Input that fails validation is a result (`ValidationError`), like any expected failure.
    unsafelyHandleInputErrors: true,
  },
  validation: {
    validationError: (result) => {
      const issue = result.issues[0];
      const path = (issue?.path ?? []).map((part) => String(typeof part === 'object' ? part.key : part));
      // The path starts with the argument (`input`); the field inside it is what a client fixes
      // (ValidationError.field, src/errors.ts).
      const field = path[0] === 'input' ? path.slice(1) : path;
      const message = issue ? (field.length > 0 ? `${field.join('.')}: ${issue.message}` : issue.message) : 'Invalid input';
      return new ValidationError(message, field.length > 0 ? field : undefined);
    },
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
    // The plugin's node(id)/nodes(ids) would load any type by id, bypassing
    // tenant scoping: `node` is our own, scoped (node.ts); `nodes` is left out.
    nodeQueryOptions: false,
    nodesQueryOptions: false,
    // `nodes` beside `edges`, for clients that need no cursor per item.
    nodesOnConnection: true,
    // A node's id is a uuid (a LedgerEntry's an integer): anything else is invalid input, never a 500.
    decodeGlobalID: decodeNodeId,
  },
});

// Every connection's size, with the same filter and caller as its pages:
// one COUNT query, run only when a client selects the field.
builder.globalConnectionField('totalCount', (t) =>
  t.int({
    description: 'How many items the whole list holds, over all its pages',
    resolve: (connection) => connection.totalCount(),
  }),
);

builder.queryType({});
builder.mutationType({});

/**
 * Years 1 to 9999, as RFC 3339 writes them: JavaScript dates reach further
 * either way, but PostgreSQL cannot convert some of them (year 0 and before)
 * and Prisma cannot read back others (five-digit years).
 */
const EARLIEST = new Date('0001-01-01T00:00:00.000Z').getTime();
const LATEST = new Date('9999-12-31T23:59:59.999Z').getTime();

builder.scalarType('DateTime', {
  description: 'An ISO-8601 timestamp in UTC, in the years 0001 to 9999',
  serialize: (value) => value.toISOString(),
  parseValue: (value) => {
    const date = typeof value === 'string' ? new Date(value) : new Date(Number.NaN);
    if (Number.isNaN(date.getTime())) throw new GraphQLError('DateTime must be an ISO-8601 string');
    if (date.getTime() < EARLIEST || date.getTime() > LATEST) {
      throw new GraphQLError('DateTime must be in the years 0001 to 9999');
    }
    return date;
  },
});

