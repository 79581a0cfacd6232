import { brandWithType } from '@pothos/core';
import { queryFromInfo } from '@pothos/plugin-prisma';
import type { GraphQLResolveInfo } from 'graphql';
import type { Principal } from '../auth/principal.ts';
import type { ApiKeyScope } from '../generated/prisma/enums.ts';
import { findTenantEntry } from '../ledger/entries.ts';
import type { Context } from '../server/context.ts';
import { builder } from './builder.ts';
import { nodeIdOrNull } from './ids.ts';

// node(id:), scoped: the relay plugin's own would load any object by id for
// anyone (builder.ts turns it off). A tenant key reaches its own tenant's
// objects, each with the scope its own query asks for (a task needs READ, a
// webhook delivery WEBHOOKS; audit events are the admins'); admins reach
// every object. Anything else reads as null, the same null as an unknown or
// malformed id, so an answer tells a tenant nothing about other tenants' ids.

/** A loader of one node type: the tenant is null for an admin (no scoping). */
interface NodeLoader {
  /** The key scope a tenant needs; null: admins only. */
  scope: ApiKeyScope | null;
  load(ctx: Context, id: string, tenantId: string | null, info: GraphQLResolveInfo): Promise<object | null>;
}

/** The Prisma selection a `... on Type` fragment under node(id:) asks for. */
function selection(ctx: Context, info: GraphQLResolveInfo, typeName: string) {
  return queryFromInfo({ context: ctx, info, typeName, awaitSelections: true });
}

const LOADERS = new Map<string, NodeLoader>(Object.entries({
  Task: {
    scope: 'READ',
    load: async (ctx, id, tenantId, info) =>
      ctx.db.task.findFirst({ ...(await selection(ctx, info, 'Task')), where: { id, ...(tenantId ? { tenantId } : {}) } }),
  },
  Tenant: {
    scope: 'READ',
    load: async (ctx, id, tenantId, info) =>
      tenantId && tenantId !== id ? null : ctx.db.tenant.findUnique({ ...(await selection(ctx, info, 'Tenant')), where: { id } }),
  },
  ApiKey: {
    scope: 'READ',
    load: async (ctx, id, tenantId, info) =>
      ctx.db.apiKey.findFirst({ ...(await selection(ctx, info, 'ApiKey')), where: { id, ...(tenantId ? { tenantId } : {}) } }),
  },
  WebhookDelivery: {
    scope: 'WEBHOOKS',
    load: async (ctx, id, tenantId, info) =>
      ctx.db.webhookDelivery.findFirst({
        ...(await selection(ctx, info, 'WebhookDelivery')),
        where: { id, ...(tenantId ? { tenantId } : {}) },
      }),
  },
  AuditEvent: {
    scope: null,
    load: async (ctx, id, _tenantId, info) => ctx.db.auditEvent.findUnique({ ...(await selection(ctx, info, 'AuditEvent')), where: { id } }),
  },
  LedgerEntry: {
    scope: 'READ',
    load: (ctx, id, tenantId) => findTenantEntry(ctx.db, BigInt(id), tenantId),
  },
} satisfies Record<string, NodeLoader>));

/** The tenant to scope by (null: an admin, unscoped), or false when the caller may not read this type. */
function scopeOf(principal: Principal, loader: NodeLoader): string | null | false {
  if (principal.kind === 'admin') return null;
  return loader.scope !== null && principal.scopes.includes(loader.scope) ? principal.tenantId : false;
}

builder.queryField('node', (t) =>
  t.field({
    type: builder.nodeInterfaceRef(),
    nullable: true,
    description:
      "Any object with an id, by that id: yours (admins: any). null for an unknown or malformed id, another tenant's, " +
      'or one your key has not the scope to read',
    authScopes: { admin: true, tenant: true },
    // A plain ID, decoded here: a malformed one is null like any other miss, not VALIDATION.
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx, info) => {
      const decoded = nodeIdOrNull(String(args.id));
      const loader = decoded ? LOADERS.get(decoded.typename) : undefined;
      if (!decoded || !loader || !ctx.principal) return null;
      const tenantId = scopeOf(ctx.principal, loader);
      if (tenantId === false) return null;
      const node = await loader.load(ctx, decoded.id, tenantId, info);
      // Tells the Node interface which type this row is (by name, as plugin-prisma's own node loader does).
      if (node) brandWithType(node, decoded.typename as unknown as Parameters<typeof brandWithType>[1]);
      return node;
    },
  }),
);
