// What a test can read back from the simulator: requests by endpoint and
// outcome, and the account's money flows. Credits are never reset, because the
// accounting invariant spans the simulator's whole life.
import type { CallbackCounters } from './callbacks.ts';
import type { TaskStore } from './store.ts';

export interface SimulatorCounters {
  /** endpoint → HTTP status (or injected mode: 'timeout', 'drop', 'malformed') → count. */
  requests: Record<string, Record<string, number>>;
  /** Sum over every endpoint and status. */
  totalRequests: number;
  creditsCharged: number;
  creditsRefunded: number;
  /** The account's balance now. */
  balance: number;
  tasks: { created: number; inProgress: number; succeeded: number; failed: number };
  /** Sum of consumed_credits over all tasks; equals charged - refunded. */
  consumedCredits: number;
  callbacks: CallbackCounters;
}

export function createCounters() {
  let requests: Record<string, Record<string, number>> = {};
  return {
    count(endpoint: string, status: string): void {
      const byStatus = (requests[endpoint] ??= {});
      byStatus[status] = (byStatus[status] ?? 0) + 1;
    },
    reset(): void {
      requests = {};
    },
    snapshot(store: TaskStore, callbacks: CallbackCounters): SimulatorCounters {
      const tasks = { created: 0, inProgress: 0, succeeded: 0, failed: 0 };
      let consumedCredits = 0;
      for (const task of store.all()) {
        tasks.created++;
        consumedCredits += task.consumedCredits;
        if (task.status === 'IN_PROGRESS') tasks.inProgress++;
        else if (task.status === 'SUCCESS') tasks.succeeded++;
        else tasks.failed++;
      }
      const copy = Object.fromEntries(Object.entries(requests).map(([k, v]) => [k, { ...v }]));
      let totalRequests = 0;
      for (const byStatus of Object.values(copy)) for (const n of Object.values(byStatus)) totalRequests += n;
      const account = store.account();
      return {
        requests: copy,
        totalRequests,
        creditsCharged: account.charged,
        creditsRefunded: account.refunded,
        balance: account.balance,
        tasks,
        consumedCredits,
        callbacks,
      };
    },
  };
}
