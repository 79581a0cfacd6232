import { decodeIdOrNull } from '../ids.ts';
import { builder } from '../builder.ts';
import { GenerationModelEnum } from '../ledger/types.ts';
import { TaskRef, TaskStatusEnum } from './types.ts';

builder.queryField('task', (t) =>
  t.prismaField({
    type: 'Task',
    nullable: true,
    description: "One of the caller's tasks; null for an unknown id or another tenant's",
    authScopes: { tenant: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) => {
      const id = decodeIdOrNull('Task', String(args.id));
      return id ? ctx.db.task.findFirst({ ...query, where: { id, tenantId: ctx.tenantId() } }) : null;
    },
  }),
);

builder.queryField('tasks', (t) =>
  t.prismaConnection({
    type: TaskRef,
    cursor: 'id',
    description: "The caller's tasks, newest first",
    authScopes: { tenant: true },
    maxSize: 100,
    defaultSize: 20,
    args: {
      status: t.arg({ type: TaskStatusEnum }),
      model: t.arg({ type: GenerationModelEnum }),
    },
    resolve: (query, _root, args, ctx) =>
      ctx.db.task.findMany({
        ...query,
        where: {
          tenantId: ctx.tenantId(),
          ...(args.status ? { status: args.status } : {}),
          ...(args.model ? { model: args.model } : {}),
        },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      }),
  }),
);
