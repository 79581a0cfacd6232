import { builder } from '../builder.ts';
import { queryFromInfo } from '@pothos/plugin-prisma';
import { createdConnection } from '../cursors.ts';
import { GenerationModelEnum } from '../ledger/types.ts';

export const TaskStatusEnum = builder.enumType('TaskStatus', {
  values: {
    SUBMITTING: { description: 'Credits held; the gateway is handing the task to upstream' },
    IN_PROGRESS: { description: 'Accepted and charged; upstream is rendering' },
    SUCCESS: { description: 'Done: resultUrls are ready' },
    FAILED: { description: 'Ended without a result; see errorMessage and refunded' },
  } as const,
});

export const TaskRef = builder.prismaNode('Task', {
  id: { field: 'id' },
  fields: (t) => ({
    model: t.field({ type: GenerationModelEnum, resolve: (task) => task.model }),
    status: t.field({ type: TaskStatusEnum, resolve: (task) => task.status }),
    prompt: t.exposeString('prompt', { nullable: true }),
    imageUrls: t.exposeStringList('imageUrls'),
    sourceTask: t.relation('sourceTask', { nullable: true }),
    resultUrls: t.exposeStringList('resultUrls'),
    creditsCharged: t.exposeInt('creditsCharged', {
      description: 'What the tenant paid (its price); 0 when upstream never accepted the task',
    }),
    upstreamCredits: t.exposeInt('upstreamCredits', {
      nullable: true,
      description: 'What upstream charged for it (admins only): margin = creditsCharged - upstreamCredits',
      authScopes: { admin: true },
    }),
    refunded: t.exposeBoolean('refunded'),
    errorMessage: t.exposeString('errorMessage', { nullable: true }),
    public: t.exposeBoolean('public'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true }),
  }),
});

builder.prismaObjectField('Tenant', 'tasks', (t) =>
  t.connection({
    type: TaskRef,
    description: "The tenant's generation tasks, newest first",
    resolve: (tenant, args, ctx, info) =>
      createdConnection({ list: 'tenant-tasks', caller: `admin:${tenant.id}` }, args, (page) =>
        ctx.db.task.findMany({
          ...queryFromInfo({ context: ctx, info, typeName: 'Task', path: ['edges', 'node'] }),
          where: { tenantId: tenant.id, ...page.where },
          orderBy: page.orderBy,
          take: page.take,
        }),
      ),
  }),
);
