import { GraphQLError } from 'graphql';
import { ValidationError } from '../errors.ts';
import type { Tenant } from '../generated/prisma/client.ts';
import { MAX_USAGE_DAYS, usageReport, type UsageRow } from '../tasks/usage.ts';
import { builder } from './builder.ts';
import { GenerationModelEnum } from './ledger/types.ts';
import { TenantRef } from './tenants/types.ts';

// usageReport: tasks and money by day, tenant and model (tasks/usage.ts).
// A tenant reads its own; what upstream cost and the margin are the
// reseller's business, on a type of their own (`admin`), null for tenants,
// so one fragment serves both.

type Row = UsageRow & { tenant: Tenant; admin: boolean };

const UsageRowAdminViewRef = builder.objectRef<UsageRow>('UsageRowAdminView').implement({
  description: "The reseller's side of a usage row (admins only: UsageRow.admin)",
  fields: (t) => ({
    upstreamCredits: t.exposeInt('upstreamCredits', { description: 'What upstream kept (its charges less its refunds)' }),
    margin: t.exposeInt('margin', { description: 'creditsCharged − creditsRefunded − upstreamCredits' }),
  }),
});

const UsageRowRef = builder.objectRef<Row>('UsageRow').implement({
  description: "One day (UTC) × tenant × model: the tasks created that day and their money, later refunds included",
  fields: (t) => ({
    day: t.exposeString('day', { description: 'YYYY-MM-DD, UTC' }),
    tenant: t.field({ type: TenantRef, resolve: (row) => row.tenant }),
    model: t.field({ type: GenerationModelEnum, resolve: (row) => row.model }),
    tasks: t.exposeInt('tasks', { description: 'Tasks created, whatever became of them' }),
    succeeded: t.exposeInt('succeeded'),
    failed: t.exposeInt('failed'),
    creditsCharged: t.exposeInt('creditsCharged'),
    creditsRefunded: t.exposeInt('creditsRefunded'),
    admin: t.field({
      type: UsageRowAdminViewRef,
      nullable: true,
      description: "What upstream kept and the margin; null for a tenant key",
      resolve: (row) => (row.admin ? row : null),
    }),
    // Kept for the clients that read them here (null for tenants, never an error): the same numbers as `admin`.
    upstreamCredits: t.int({
      nullable: true,
      deprecationReason: 'Use admin { upstreamCredits }',
      resolve: (row) => (row.admin ? row.upstreamCredits : null),
    }),
    margin: t.int({
      nullable: true,
      deprecationReason: 'Use admin { margin }',
      resolve: (row) => (row.admin ? row.margin : null),
    }),
  }),
});

const UsageReportInput = builder.inputType('UsageReportInput', {
  fields: (t) => ({
    from: t.field({ type: 'DateTime', required: true, description: 'Tasks created at or after this instant' }),
    to: t.field({ type: 'DateTime', required: true, description: `Tasks created before this instant; at most ${MAX_USAGE_DAYS} days after from` }),
    tenantId: t.globalID({ for: TenantRef, description: "Admins: one tenant, or every tenant when omitted. Tenants: their own (or omitted)" }),
  }),
});

builder.queryField('usageReport', (t) =>
  t.field({
    type: [UsageRowRef],
    description: 'Tasks, outcomes and credits by day, tenant and model',
    authScopes: { admin: true, read: true },
    args: { input: t.arg({ type: UsageReportInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const principal = ctx.principal!;
      const { from, to } = input;
      if (to.getTime() <= from.getTime()) throw new ValidationError('to: must be after from', 'to');
      if (to.getTime() - from.getTime() > MAX_USAGE_DAYS * 86_400_000) {
        throw new ValidationError(`to: at most ${MAX_USAGE_DAYS} days after from`, 'to');
      }
      let tenantId = input.tenantId?.id ?? null;
      if (principal.kind === 'tenant') {
        if (tenantId && tenantId !== principal.tenantId) {
          throw new GraphQLError('A tenant key reads its own usage only', { extensions: { code: 'FORBIDDEN', http: { status: 403 } } });
        }
        tenantId = principal.tenantId;
      }
      const rows = await usageReport(ctx.db, { from, to, tenantId });
      const tenants = new Map(
        (await ctx.db.tenant.findMany({ where: { id: { in: [...new Set(rows.map((r) => r.tenantId))] } } })).map((x) => [x.id, x]),
      );
      const admin = principal.kind === 'admin';
      return rows.map((row) => ({ ...row, tenant: tenants.get(row.tenantId)!, admin }));
    },
  }),
);
