import { GraphQLError } from 'graphql';
import type { Context } from '../server/context.ts';
import { builder } from './builder.ts';
import { BalanceRef } from './tenants/types.ts';
import { TaskRef } from './tasks/types.ts';

// Live status. Subscriptions read from feeds (events/live.ts) that start
// listening before anything is read, so nothing that happens in between is
// missed. The `tenant` scope is checked when a subscription starts (Pothos
// authorizeOnSubscribe), over WebSocket and SSE alike; a revoked key's feeds
// end at their next event (and its sockets close at once).

builder.subscriptionType({});

function keyIdOf(ctx: Context): string | null {
  return ctx.principal?.kind === 'tenant' ? ctx.principal.keyId : null;
}

function taskNotFound(): GraphQLError {
  return new GraphQLError('Task not found', { extensions: { code: 'NOT_FOUND' } });
}

builder.subscriptionField('taskUpdated', (t) =>
  t.field({
    type: TaskRef,
    description: 'One of your tasks: its current state at once, then every change; completes after SUCCESS or FAILED',
    authScopes: { read: true },
    args: { id: t.arg.globalID({ required: true, for: TaskRef }) },
    subscribe: async (_root, args, ctx) => {
      const tenantId = ctx.tenantId();
      const feed = ctx.live.followTask(args.id.id, tenantId, keyIdOf(ctx));
      try {
        const current = await ctx.db.task.findFirst({ where: { id: args.id.id, tenantId } });
        if (!current) throw taskNotFound();
        return feed.start(current);
      } catch (error) {
        await feed.return();
        throw error;
      }
    },
    resolve: (task) => task,
  }),
);

builder.subscriptionField('tasksUpdated', (t) =>
  t.field({
    type: TaskRef,
    description: 'Every change to any of your tasks',
    authScopes: { read: true },
    subscribe: (_root, _args, ctx) => ctx.live.followTenantTasks(ctx.tenantId(), keyIdOf(ctx)),
    resolve: (task) => task,
  }),
);

builder.subscriptionField('balanceChanged', (t) =>
  t.field({
    type: BalanceRef,
    description: 'Your balance after every change to it (top-ups, holds, charges, refunds), as that change committed it',
    authScopes: { read: true },
    subscribe: (_root, _args, ctx) => ctx.live.followBalance(ctx.tenantId(), keyIdOf(ctx)),
    resolve: (change) => ({ available: change.available, held: change.held, low: change.low }),
  }),
);
