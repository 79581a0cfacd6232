import type { Task } from '../../generated/prisma/client.ts';
import { readTask } from '../../tasks/reads.ts';
import { builder } from '../builder.ts';
import { GenerationModelEnum } from '../ledger/types.ts';
import { taskPage, TaskConnectionRef, TaskRef, TaskStatusEnum } from './types.ts';

builder.queryField('task', (t) =>
  t.prismaField({
    type: 'Task',
    nullable: true,
    description: "One of the caller's tasks; null for an unknown id or another tenant's",
    authScopes: { read: true },
    args: { id: t.arg.globalID({ required: true, for: TaskRef }) },
    // One statement (tasks/reads.ts) of what a client sees of a task, which is all the Task type reads;
    // a relation asked for (sourceTask) is loaded by the prisma plugin.
    resolve: async (_query, _root, args, ctx) => (await readTask(ctx.db, { id: args.id.id, tenantId: ctx.tenantId() })) as Task | null,
  }),
);

builder.queryField('tasks', (t) =>
  t.connection(
    {
      type: TaskRef,
      description: "The caller's tasks, newest first",
      authScopes: { read: true },
      args: {
        status: t.arg({ type: TaskStatusEnum }),
        model: t.arg({ type: GenerationModelEnum }),
      },
      resolve: (_root, args, ctx) => {
        const tenantId = ctx.tenantId();
        const where = {
          tenantId,
          ...(args.status ? { status: args.status } : {}),
          ...(args.model ? { model: args.model } : {}),
        };
        return taskPage(ctx, args, { list: 'tasks', caller: tenantId }, where);
      },
    },
    TaskConnectionRef,
  ),
);
