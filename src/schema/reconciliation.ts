import { ValidationError } from '../errors.ts';
import { MAX_RECONCILIATION_DAYS, reconciliationReport, type ReconciliationReport } from '../tasks/reconcile.ts';
import { builder } from './builder.ts';

// reconciliation: what the reconciliation worker found when it read upstream's
// /status of ended tasks again (tasks/reconcile.ts), for admins.

const ReconciliationRef = builder.objectRef<ReconciliationReport>('Reconciliation').implement({
  description: "Reconciliation against upstream of the tasks that ended in [from, to): upstream's late refunds are mirrored, other differences only recorded",
  fields: (t) => ({
    from: t.expose('from', { type: 'DateTime' }),
    to: t.expose('to', { type: 'DateTime' }),
    tasksChecked: t.exposeInt('tasksChecked', { description: "Tasks whose upstream /status was read again at least once" }),
    mismatches: t.exposeInt('mismatches', { description: "Tasks where upstream's consumed_credits differed from what the gateway recorded" }),
    corrected: t.exposeInt('corrected', { description: "Mismatches that were upstream's late refunds, mirrored to the tenant and in the upstream spend" }),
    driftCredits: t.exposeInt('driftCredits', {
      description: "Total drift: the sum over mismatches of |recorded − upstream's consumed_credits|, as found (before any correction)",
    }),
  }),
});

builder.queryField('reconciliation', (t) =>
  t.field({
    type: ReconciliationRef,
    description: 'What reconciliation found for the tasks that ended in [from, to) (admins)',
    authScopes: { admin: true },
    args: {
      from: t.arg({ type: 'DateTime', required: true, description: 'Tasks that ended at or after this instant' }),
      to: t.arg({ type: 'DateTime', required: true, description: `Tasks that ended before this instant; at most ${MAX_RECONCILIATION_DAYS} days after from` }),
    },
    resolve: (_root, { from, to }, ctx) => {
      if (to.getTime() <= from.getTime()) throw new ValidationError('to: must be after from', 'to');
      if (to.getTime() - from.getTime() > MAX_RECONCILIATION_DAYS * 86_400_000) {
        throw new ValidationError(`to: at most ${MAX_RECONCILIATION_DAYS} days after from`, 'to');
      }
      return reconciliationReport(ctx.db, { from, to });
    },
  }),
);
