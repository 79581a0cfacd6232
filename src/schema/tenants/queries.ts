import { builder } from '../builder.ts';
import { queryFromInfo } from '@pothos/plugin-prisma';
import { z } from 'zod';
import { counted } from '../connections.ts';
import { createdConnection } from '../cursors.ts';
import type { Tenant } from '../../generated/prisma/client.ts';
import { isRowId, nodeIdOrNull } from '../ids.ts';
import { asksOnly } from '../selection.ts';
import { TenantConnectionRef, TenantRef, TenantStatusEnum } from './types.ts';

/** Fields of Tenant that need nothing of its row but its id. */
const ROW_FREE = new Set(['__typename', 'id', 'balance']);

builder.queryField('me', (t) =>
  t.prismaField({
    type: 'Tenant',
    description: 'The tenant that owns the calling API key',
    authScopes: { read: true },
    resolve: (query, _root, _args, ctx, info) => {
      const id = ctx.tenantId();
      // The calling key proved its tenant exists (tenants are never deleted):
      // when nothing of its row is asked (`me { balance }`, the hottest read),
      // none is read.
      if (asksOnly(info, ROW_FREE)) return { id } as Tenant;
      return ctx.db.tenant.findUniqueOrThrow({ ...query, where: { id } });
    },
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
  t.connection(
    {
      type: TenantRef,
      authScopes: { admin: true },
      description: 'Every tenant, newest first; `search` and `status` narrow the list (and its totalCount)',
      args: {
        search: t.arg.string({
          description: "Part of the tenant's name (any case), or its exact id (global or UUID)",
          validate: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
        }),
        status: t.arg({ type: TenantStatusEnum }),
      },
      resolve: (_root, args, ctx, info) => {
        const where = {
          ...(args.search ? { OR: tenantSearch(args.search.trim()) } : {}),
          ...(args.status ? { status: args.status } : {}),
        };
        return counted(
          createdConnection({ list: 'tenants', caller: 'admin' }, args, (page) =>
            ctx.db.tenant.findMany({
              ...queryFromInfo({ context: ctx, info, typeName: 'Tenant', paths: [['edges', 'node'], ['nodes']] }),
              where: { ...where, ...page.where },
              orderBy: page.orderBy,
              take: page.take,
            }),
          ),
          () => ctx.db.tenant.count({ where }),
        );
      },
    },
    TenantConnectionRef,
  ),
);

/** Name contains `text` (any case); or the tenant whose id it is, given as a UUID or as its global id. */
function tenantSearch(text: string) {
  const byName = { name: { contains: text, mode: 'insensitive' as const } };
  const node = nodeIdOrNull(text);
  const id = isRowId(text) ? text : node?.typename === 'Tenant' ? node.id : null;
  return id ? [byName, { id }] : [byName];
}
