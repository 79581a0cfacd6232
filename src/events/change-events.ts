// The change events statements announce (db/announce.ts), parsed at the edge
// where they arrive: a NOTIFY payload or a Redis message is a JSON array of
// these. A task event carries the row without its two large columns, prompt
// and image URLs (tasks/statements.ts, taskEvent); `partial` ones carry only
// id, tenant and status, and the listener reads the row.
import { z } from 'zod';
import type { Task } from '../generated/prisma/client.ts';

const taskSnapshot = z.looseObject({
  id: z.string(),
  tenantId: z.string(),
  status: z.enum(['SUBMITTING', 'IN_PROGRESS', 'SUCCESS', 'FAILED']),
});

const changeEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('task'), task: taskSnapshot, partial: z.boolean().optional() }),
  z.object({
    type: z.literal('balance'),
    tenantId: z.string(),
    available: z.number().int(),
    held: z.number().int(),
    // Absent from events of a gateway that predates thresholds.
    low: z.boolean().default(false),
  }),
  z.object({ type: z.literal('keyRevoked'), keyId: z.string() }),
  // A rotation's old key: refused from `at` on, by every process.
  z.object({ type: z.literal('keyExpiry'), keyId: z.string(), at: z.coerce.date() }),
  z.object({ type: z.literal('webhooks') }),
  // The upstream circuit breaker's state changed on some process (tasks/upstream-health.ts).
  z.object({
    type: z.literal('upstreamHealth'),
    state: z.enum(['OK', 'OUT_OF_CREDITS', 'UNAUTHORIZED', 'RATE_LIMITED', 'DOWN']),
    since: z.coerce.date(),
    lastError: z.string().nullable(),
    probeAt: z.coerce.date().nullable(),
  }),
]);

export type ChangeEvent = z.infer<typeof changeEvent>;
export type TaskChange = Extract<ChangeEvent, { type: 'task' }>;
export type BalanceChange = Extract<ChangeEvent, { type: 'balance' }>;

/** The events of one announcement; members that are null (a step that changed nothing) or malformed are dropped. */
export function parseAnnouncement(payload: string): { events: ChangeEvent[]; malformed: number } {
  let raw: unknown;
  try {
    raw = JSON.parse(payload);
  } catch {
    return { events: [], malformed: 1 };
  }
  const items = Array.isArray(raw) ? raw : [raw];
  const events: ChangeEvent[] = [];
  let malformed = 0;
  for (const item of items) {
    if (item === null) continue;
    const parsed = changeEvent.safeParse(item);
    if (parsed.success) events.push(parsed.data);
    else malformed++;
  }
  return { events, malformed };
}

const DATE_KEYS = ['createdAt', 'updatedAt', 'submittedAt', 'completedAt', 'nextPollAt', 'leaseUntil'] as const;

/** The columns a task event leaves out: they never change, so an earlier read of the task supplies them. */
export type UnchangingColumns = Pick<Task, 'prompt' | 'imageUrls'>;

/** A full task from an event's snapshot and the columns it leaves out. */
export function mergeTask(base: UnchangingColumns, snapshot: TaskChange['task']): Task {
  const out: Record<string, unknown> = { ...snapshot, prompt: base.prompt, imageUrls: base.imageUrls };
  for (const key of DATE_KEYS) {
    const value = (snapshot as Record<string, unknown>)[key];
    if (typeof value === 'string') out[key] = new Date(value);
  }
  return out as Task;
}
