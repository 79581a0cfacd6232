import { GraphQLError } from 'graphql';
import { getBalance, type Balance } from '../ledger/accounts.ts';
import { decodeIdOrNull } from './ids.ts';
import type { Task } from '../generated/prisma/client.ts';
import { isNewer, isTerminal, reviveTask } from '../events/task-snapshot.ts';
import type { Context } from '../server/context.ts';
import { builder } from './builder.ts';
import { BalanceRef } from './tenants/types.ts';
import { TaskRef } from './tasks/types.ts';

// Live status. Each subscription reads the current state after it starts
// listening, so nothing that happens in between is missed, then follows the
// event bus (in-process or Redis). A revoked key's subscriptions end.

builder.subscriptionType({});

function stillAllowed(ctx: Context): boolean {
  const keyId = ctx.principal?.kind === 'tenant' ? ctx.principal.keyId : null;
  return keyId === null || !ctx.authenticator.isRevoked(keyId);
}

async function* followTask(ctx: Context, rawId: string): AsyncGenerator<Task> {
  const id = decodeIdOrNull('Task', rawId);
  const events = id ? ctx.bus.pubsub.subscribe('task', id) : null;
  try {
    const current = id ? await ctx.db.task.findFirst({ where: { id, tenantId: ctx.tenantId() } }) : null;
    if (!current || !events) {
      throw new GraphQLError('Task not found', { extensions: { code: 'NOT_FOUND' } });
    }
    yield current;
    let last = current.status;
    if (isTerminal(last)) return;
    for await (const event of events) {
      if (!stillAllowed(ctx)) return;
      const task = reviveTask(event.task);
      if (!isNewer(task.status, last)) continue;
      last = task.status;
      yield task;
      if (isTerminal(last)) return;
    }
  } finally {
    await events?.return?.();
  }
}

builder.subscriptionField('taskUpdated', (t) =>
  t.field({
    type: TaskRef,
    description: 'One of your tasks: its current state at once, then every change; completes after SUCCESS or FAILED',
    authScopes: { tenant: true },
    args: { id: t.arg.id({ required: true }) },
    subscribe: (_root, args, ctx) => followTask(ctx, String(args.id)),
    resolve: (task) => task,
  }),
);

async function* followTenantTasks(ctx: Context): AsyncGenerator<Task> {
  for await (const event of ctx.bus.pubsub.subscribe('tenantTasks', ctx.tenantId())) {
    if (!stillAllowed(ctx)) return;
    yield reviveTask(event.task);
  }
}

builder.subscriptionField('tasksUpdated', (t) =>
  t.field({
    type: TaskRef,
    description: 'Every change to any of your tasks',
    authScopes: { tenant: true },
    subscribe: (_root, _args, ctx) => followTenantTasks(ctx),
    resolve: (task) => task,
  }),
);

async function* followBalance(ctx: Context): AsyncGenerator<Balance> {
  const tenantId = ctx.tenantId();
  for await (const _event of ctx.bus.pubsub.subscribe('balance', tenantId)) {
    if (!stillAllowed(ctx)) return;
    yield await getBalance(ctx.db, tenantId);
  }
}

builder.subscriptionField('balanceChanged', (t) =>
  t.field({
    type: BalanceRef,
    description: 'Your balance after every ledger entry (top-ups, holds, charges, refunds)',
    authScopes: { tenant: true },
    subscribe: (_root, _args, ctx) => followBalance(ctx),
    resolve: (balance) => balance,
  }),
);
