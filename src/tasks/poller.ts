import { createIntervalWorker, type Worker } from '../worker.ts';
import type { TaskDeps } from './deps.ts';
import { pollTask } from './follow.ts';
import { claimDueTasks } from './store.ts';

/**
 * Follows IN_PROGRESS tasks: each tick leases the tasks due for a poll and
 * polls them concurrently. Several processes can run one each.
 */
export function createTaskPoller(deps: TaskDeps): Worker & { pollNow(taskId: string): Promise<void> } {
  const { settings } = deps;
  const worker = createIntervalWorker('task-poller', settings.pollIntervalMs, deps.logger, async () => {
    for (;;) {
      const due = await claimDueTasks(deps.store.db, { limit: settings.pollBatch, leaseMs: settings.leaseMs });
      await Promise.all(due.map((task) => pollTask(deps, task).catch((error: unknown) => {
        deps.logger.error({ err: error, taskId: task.id }, 'poll failed');
      })));
      if (due.length < settings.pollBatch) return;
    }
  });
  return {
    ...worker,
    /** An upstream callback's hint: poll this task now, if nobody else is. */
    async pollNow(taskId) {
      const [task] = await claimDueTasks(deps.store.db, { limit: 1, leaseMs: settings.leaseMs, taskId });
      if (task) await pollTask(deps, task);
    },
  };
}
