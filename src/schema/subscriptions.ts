import { GraphQLError } from 'graphql';
import type { BalanceChange } from '../events/change-events.ts';
import { startBalance, startTenantTasks } from '../events/feeds.ts';
import { isLow } from '../ledger/accounts.ts';
import type { Context } from '../server/context.ts';
import { builder } from './builder.ts';
import { tenantOfCaller } from './tenants/access.ts';
import { BalanceRef, TenantRef } from './tenants/types.ts';
import { TaskRef } from './tasks/types.ts';

// Live status. Each subscription starts with the current state, then every
// change: it reads from a feed (events/live.ts) that starts listening before
// the state is read, so nothing that happens in between is missed (feeds.ts
// drops what the read shows already). Scopes are checked when a subscription
// starts (Pothos authorizeOnSubscribe), over WebSocket and SSE alike; a
// revoked key's feeds end at their next event (and its sockets close at once).

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

/** Tasks in flight a `tasksUpdated` starts with, at most: well under a feed's bound on unread events. */
export const TASKS_AT_START = 500;

builder.subscriptionField('tasksUpdated', (t) =>
  t.field({
    type: TaskRef,
    description:
      `Your tasks not yet ended (SUBMITTING, IN_PROGRESS; the newest ${TASKS_AT_START}), as they are now, oldest first; ` +
      'then every change to any of your tasks',
    authScopes: { read: true },
    subscribe: async (_root, _args, ctx) => {
      const tenantId = ctx.tenantId();
      const feed = ctx.live.followTenantTasks(tenantId, keyIdOf(ctx));
      try {
        const inFlight = await ctx.db.task.findMany({
          where: { tenantId, status: { in: ['SUBMITTING', 'IN_PROGRESS'] } },
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
          take: TASKS_AT_START,
        });
        return startTenantTasks(feed, inFlight.reverse());
      } catch (error) {
        await feed.return();
        throw error;
      }
    },
    resolve: (task) => task,
  }),
);

builder.subscriptionField('balanceChanged', (t) =>
  t.field({
    type: BalanceRef,
    description:
      'Your balance now, then after every change to it (top-ups, holds, charges, refunds), as that change committed it; ' +
      'an admin names the tenant (tenantId)',
    // Admins follow a tenant's balance too (the console's tenant page).
    authScopes: { read: true, admin: true },
    args: {
      tenantId: t.arg.globalID({ for: TenantRef, description: "Required for admins; a tenant key may omit it or give its own tenant's id" }),
    },
    subscribe: async (_root, args, ctx) => {
      const tenantId = tenantOfCaller(ctx, args.tenantId?.id);
      const feed = ctx.live.followBalance(tenantId, keyIdOf(ctx));
      try {
        const account = await ctx.db.account.findUnique({
          where: { tenantId },
          select: { available: true, held: true, lowBalanceThreshold: true },
        });
        if (!account) throw new GraphQLError('Tenant not found', { extensions: { code: 'NOT_FOUND' } });
        const current: BalanceChange = { type: 'balance', tenantId, available: account.available, held: account.held, low: isLow(account) };
        return startBalance(feed, current);
      } catch (error) {
        await feed.return();
        throw error;
      }
    },
    resolve: (change) => ({ available: change.available, held: change.held, low: change.low }),
  }),
);
