import { builder } from '../builder.ts';
import { decodeIdOrNull } from '../ids.ts';
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
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const id = decodeIdOrNull('Tenant', String(args.id));
      return id ? ctx.db.tenant.findUnique({ ...query, where: { id } }) : null;
    },
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
    resolve: (query, _root, _args, ctx) =>
      ctx.db.tenant.findMany({ ...query, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }),
  }),
);
