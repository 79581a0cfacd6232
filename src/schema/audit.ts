import { encodeGlobalID } from '@pothos/plugin-relay';
import { GraphQLError } from 'graphql';
import { listAuditEvents } from '../audit/log.ts';
import type { AuditEvent } from '../generated/prisma/client.ts';
import { builder } from './builder.ts';
import { counted } from './connections.ts';
import { createdConnection } from './cursors.ts';
import { TenantRef } from './tenants/types.ts';

// The audit log, for admins: who changed what, newest first (src/audit/).

builder.scalarType('JSON', {
  description: 'A JSON value (output only)',
  serialize: (value) => value,
  parseValue: () => {
    throw new GraphQLError('JSON is an output type');
  },
});

const AuditActorKindEnum = builder.enumType('AuditActorKind', {
  values: {
    ADMIN_TOKEN: { description: 'The ADMIN_TOKEN of the configuration' },
    ADMIN_KEY: { description: 'An admin API key' },
    TENANT_KEY: { description: "A tenant's API key" },
  } as const,
});

const AuditActorRef = builder.objectRef<AuditEvent>('AuditActor').implement({
  description: 'The credential that made a change: a key by id and display prefix, never its secret',
  fields: (t) => ({
    kind: t.field({ type: AuditActorKindEnum, resolve: (e) => e.actorKind }),
    keyId: t.id({
      nullable: true,
      description: "The ApiKey's global id (null for the ADMIN_TOKEN)",
      resolve: (e) => (e.actorKeyId ? encodeGlobalID('ApiKey', e.actorKeyId) : null),
    }),
    prefix: t.exposeString('actorPrefix', { nullable: true, description: "The key's display prefix" }),
  }),
});

const AuditEventRef = builder.prismaNode('AuditEvent', {
  id: { field: 'id' },
  description: 'One change: written in the same transaction as the change itself',
  fields: (t) => ({
    action: t.exposeString('action', { description: 'Dotted: tenant.suspend, credits.adjust, apiKey.rotate, …' }),
    actor: t.field({ type: AuditActorRef, resolve: (e) => e }),
    tenant: t.relation('tenant', { nullable: true }),
    details: t.field({ type: 'JSON', resolve: (e) => e.details }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const AuditEventConnectionRef = builder.connectionObject({ type: AuditEventRef, name: 'AuditEventConnection' }, { name: 'AuditEventEdge' });

builder.queryField('auditLog', (t) =>
  t.connection(
    {
      type: AuditEventRef,
      description: 'Every admin write and every key or secret change, newest first; one tenant’s with tenantId',
      authScopes: { admin: true },
      args: { tenantId: t.arg.globalID({ for: TenantRef }) },
      resolve: (_root, args, ctx) => {
        const tenantId = args.tenantId?.id ?? null;
        return counted(
          createdConnection({ list: 'auditLog', caller: `admin:${tenantId ?? '*'}` }, args, (page) =>
            listAuditEvents(ctx.db, { tenantId, ...page }),
          ),
          () => ctx.db.auditEvent.count({ where: tenantId ? { tenantId } : {} }),
        );
      },
    },
    AuditEventConnectionRef,
  ),
);
