// What the lifecycle's transitions add to the metrics (src/metrics/), counted
// where they are called (submit, follow, recovery) on the task a transition
// returned: a transition that moved nothing (another process won) counts
// nothing, so each process counts what it did and the sum over processes is
// exact.
import { CATALOG } from '../catalog.ts';
import type { Task } from '../generated/prisma/client.ts';
import type { GatewayMetrics } from '../metrics/registry.ts';

/** accept: the tenant charged its price; upstream's cost mirrored. */
export function countAccepted(metrics: GatewayMetrics, task: Task): void {
  metrics.tasks.inc({ model: task.model, outcome: 'accepted' });
  metrics.credits.inc({ flow: 'charged' }, task.creditsCharged);
  metrics.credits.inc({ flow: 'upstream_charged' }, CATALOG[task.model].upstreamCost);
}

/** reject or recover: ended before upstream took it; nothing was charged. */
export function countRejected(metrics: GatewayMetrics, task: Task): void {
  metrics.tasks.inc({ model: task.model, outcome: 'rejected' });
}

/** settle or expire: succeeded, or failed and refunded on both sides. */
export function countEnded(metrics: GatewayMetrics, task: Task): void {
  if (task.status === 'SUCCESS') {
    metrics.tasks.inc({ model: task.model, outcome: 'succeeded' });
    return;
  }
  metrics.tasks.inc({ model: task.model, outcome: 'failed' });
  if (task.refunded) {
    metrics.credits.inc({ flow: 'refunded' }, task.creditsCharged);
    metrics.credits.inc({ flow: 'upstream_refunded' }, CATALOG[task.model].upstreamCost);
  }
}

/** lateRefund (reconciliation): a success refunded after the fact, on both sides. */
export function countLateRefund(metrics: GatewayMetrics, task: Task): void {
  metrics.credits.inc({ flow: 'refunded' }, task.creditsCharged);
  metrics.credits.inc({ flow: 'upstream_refunded' }, CATALOG[task.model].upstreamCost);
}
