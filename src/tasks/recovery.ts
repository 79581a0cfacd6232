import { createIntervalWorker, type Worker } from '../worker.ts';
import type { TaskDeps } from './deps.ts';
import { recover } from './lifecycle.ts';
import { countRejected } from './task-metrics.ts';

/**
 * Finishes what a dead process left half done. A task still SUBMITTING after
 * TASK_SUBMIT_TIMEOUT_MS lost the process that was calling upstream: its hold
 * is voided and it fails (README, "Crash recovery"). IN_PROGRESS tasks need
 * nothing here: their leases expire and the poller picks them up.
 */
export function createRecovery(deps: TaskDeps, intervalMs = Math.min(5000, deps.settings.submitTimeoutMs / 4)): Worker {
  return createIntervalWorker('task-recovery', intervalMs, deps.logger, async () => {
    const cutoff = new Date(Date.now() - deps.settings.submitTimeoutMs);
    const stale = await deps.store.db.task.findMany({
      where: { status: 'SUBMITTING', createdAt: { lt: cutoff } },
      take: 100,
    });
    for (const task of stale) {
      const ended = await recover(deps.store, task);
      if (ended) countRejected(deps.metrics, ended);
      if (ended) deps.logger.warn({ taskId: task.id, tenantId: task.tenantId }, 'abandoned submission resolved: hold voided');
    }
  });
}
