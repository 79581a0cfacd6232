import { builder } from '../builder.ts';
import { connectionCursors } from '../ids.ts';
import { GenerationModelEnum } from '../ledger/types.ts';
import { TaskRef, TaskStatusEnum } from './types.ts';

builder.queryField('task', (t) =>
  t.prismaField({
    type: 'Task',
    nullable: true,
    description: "One of the caller's tasks; null for an unknown id or another tenant's",
    authScopes: { tenant: true },
    args: { id: t.arg.globalID({ required: true, for: TaskRef }) },
    resolve: (query, _root, args, ctx) => ctx.db.task.findFirst({ ...query, where: { id: args.id.id, tenantId: ctx.tenantId() } }),
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
    validate: connectionCursors,
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
