import type { Task } from '../generated/prisma/client.ts';

const RANK: Record<Task['status'], number> = { SUBMITTING: 0, IN_PROGRESS: 1, SUCCESS: 2, FAILED: 2 };

/** Statuses only move forward; an event that arrives late (from another process) is stale. */
export function isNewer(next: Task['status'], previous: Task['status'] | null): boolean {
  return previous === null || RANK[next] > RANK[previous];
}

export function isTerminal(status: Task['status']): boolean {
  return status === 'SUCCESS' || status === 'FAILED';
}
