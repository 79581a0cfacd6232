import { builder } from '../builder.ts';
import { connectionCursors } from '../ids.ts';
import { TenantRef } from './types.ts';

builder.queryField('me', (t) =>
  t.prismaField({
    type: 'Tenant',
    description: 'The tenant that owns the calling API key',
    authScopes: { tenant: true },
    resolve: (query, _root, _args, ctx) =>
      ctx.db.tenant.findUniqueOrThrow({ ...query, where: { id: ctx.tenantId() } }),
  }),
);

builder.queryField('tenant', (t) =>
  t.prismaField({
    type: 'Tenant',
    nullable: true,
    authScopes: { admin: true },
    args: { id: t.arg.globalID({ required: true, for: TenantRef }) },
    resolve: (query, _root, args, ctx) => ctx.db.tenant.findUnique({ ...query, where: { id: args.id.id } }),
  }),
);

builder.queryField('tenants', (t) =>
  t.prismaConnection({
    type: TenantRef,
    cursor: 'id',
    authScopes: { admin: true },
    description: 'Every tenant, newest first',
    maxSize: 100,
    defaultSize: 20,
    validate: connectionCursors,
    resolve: (query, _root, _args, ctx) =>
      ctx.db.tenant.findMany({ ...query, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }),
  }),
);
