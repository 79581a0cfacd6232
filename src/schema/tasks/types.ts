import { builder } from '../builder.ts';
import type { DefaultConnectionArguments } from '@pothos/plugin-relay';
import type { Task } from '../../generated/prisma/client.ts';
import { readTaskPage, type TaskFilter } from '../../tasks/reads.ts';
import type { Context } from '../../server/context.ts';
import { counted } from '../connections.ts';
import { createdConnection, type CursorScope } from '../cursors.ts';
import { GenerationModelEnum } from '../ledger/types.ts';

export const TaskStatusEnum = builder.enumType('TaskStatus', {
  values: {
    SUBMITTING: { description: 'Credits held; the gateway is handing the task to upstream' },
    IN_PROGRESS: { description: 'Accepted and charged; upstream is rendering' },
    SUCCESS: { description: 'Done: resultUrls are ready' },
    FAILED: { description: 'Ended without a result; see errorMessage and refunded' },
  } as const,
});

const TaskAdminViewRef = builder.objectRef<Task>('TaskAdminView').implement({
  description: "The reseller's side of a task (admins only: Task.admin)",
  fields: (t) => ({
    upstreamCredits: t.int({
      nullable: true,
      description: 'What upstream charged for it: margin = creditsCharged - upstreamCredits',
      resolve: (task) => task.upstreamCredits,
    }),
  }),
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
    // The reseller's side of a task is on a type of its own, null for tenant
    // keys: a fragment shared by admin and tenant screens never fails.
    admin: t.field({
      type: TaskAdminViewRef,
      nullable: true,
      description: "What only admins see of this task; null for a tenant key",
      resolve: (task, _args, ctx) => (ctx.principal?.kind === 'admin' ? task : null),
    }),
    refunded: t.exposeBoolean('refunded'),
    errorMessage: t.exposeString('errorMessage', { nullable: true }),
    public: t.exposeBoolean('public'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true }),
  }),
});

/** The one connection type of every list of tasks. */
export const TaskConnectionRef = builder.connectionObject({ type: TaskRef, name: 'TaskConnection' }, { name: 'TaskEdge' });

/**
 * A page of tasks, newest first, with its totalCount: every list of tasks
 * (Query.tasks, Tenant.tasks) is this with its own filter and cursor scope.
 * Rows are read in one statement (tasks/reads.ts); a relation a client asks
 * for (sourceTask) is loaded by the prisma plugin, batched across the page.
 */
export function taskPage(ctx: Context, args: DefaultConnectionArguments, scope: CursorScope, filter: TaskFilter) {
  return counted(
    // What a client sees of each task (TaskView), which is all the Task type reads.
    createdConnection(scope, args, async (page) => (await readTaskPage(ctx.db, filter, page)) as Task[]),
    () => ctx.db.task.count({ where: filter }),
  );
}

builder.prismaObjectField('Tenant', 'tasks', (t) =>
  t.connection(
    {
      type: TaskRef,
      description: "The tenant's generation tasks, newest first",
      resolve: (tenant, args, ctx) => taskPage(ctx, args, { list: 'tenant-tasks', caller: `admin:${tenant.id}` }, { tenantId: tenant.id }),
    },
    TaskConnectionRef,
  ),
);
