import { builder } from '../builder.ts';
import { queryFromInfo } from '@pothos/plugin-prisma';
import { createdConnection } from '../cursors.ts';
import { TenantRef } from './types.ts';

builder.queryField('me', (t) =>
  t.prismaField({
    type: 'Tenant',
    description: 'The tenant that owns the calling API key',
    authScopes: { read: true },
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
  t.connection({
    type: TenantRef,
    authScopes: { admin: true },
    description: 'Every tenant, newest first',
    resolve: (_root, args, ctx, info) =>
      createdConnection({ list: 'tenants', caller: 'admin' }, args, (page) =>
        ctx.db.tenant.findMany({
          ...queryFromInfo({ context: ctx, info, typeName: 'Tenant', path: ['edges', 'node'] }),
          where: page.where,
          orderBy: page.orderBy,
          take: page.take,
        }),
      ),
  }),
);
