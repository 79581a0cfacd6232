import type { Task } from '../generated/prisma/client.ts';

/** A task row as JSON (dates as ISO strings), to travel through Redis. */
export type TaskSnapshot = Omit<Task, DateKeys> & { [K in DateKeys]: Task[K] extends Date ? string : string | null };

type DateKeys = 'createdAt' | 'updatedAt' | 'submittedAt' | 'completedAt' | 'nextPollAt' | 'leaseUntil';
const DATE_KEYS: DateKeys[] = ['createdAt', 'updatedAt', 'submittedAt', 'completedAt', 'nextPollAt', 'leaseUntil'];

export function snapshotTask(task: Task): TaskSnapshot {
  const out: Record<string, unknown> = { ...task };
  for (const key of DATE_KEYS) out[key] = task[key]?.toISOString() ?? null;
  return out as TaskSnapshot;
}

export function reviveTask(snapshot: TaskSnapshot): Task {
  const out: Record<string, unknown> = { ...snapshot };
  for (const key of DATE_KEYS) out[key] = snapshot[key] === null ? null : new Date(snapshot[key] as string);
  return out as Task;
}

const RANK: Record<Task['status'], number> = { SUBMITTING: 0, IN_PROGRESS: 1, SUCCESS: 2, FAILED: 2 };

/** Statuses only move forward; an event that arrives late (from another process) is stale. */
export function isNewer(next: Task['status'], previous: Task['status'] | null): boolean {
  return previous === null || RANK[next] > RANK[previous];
}

export function isTerminal(status: Task['status']): boolean {
  return status === 'SUCCESS' || status === 'FAILED';
}
