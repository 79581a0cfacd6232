// The live hub of this process: one bus listener per kind of event, routing
// each to the feeds (feeds.ts) of the subscriptions waiting for it, by task
// id and by tenant id. Subscription resolvers (schema/subscriptions.ts)
// create feeds here; WebSocket and SSE consume them through the one GraphQL
// pipeline (server/yoga.ts).
//
// A task event carries the row without the columns that never change
// (prompt, image URLs…). The hub completes it from an earlier read of the
// same task: the subscriber's own read for `taskUpdated`, else one batched
// read, remembered for the task's later events. Events are delivered in the
// order they were committed, reads or not.
import type { Task } from '../generated/prisma/client.ts';
import type { Logger } from '../logger.ts';
import type { EventBus } from './bus.ts';
import { mergeTask, type BalanceChange, type TaskChange, type UnchangingColumns } from './change-events.ts';
import { EveryEventFeed, Routes, TaskFeed } from './feeds.ts';

/** Characters of prompts and image URLs kept for tasks' next events; the oldest go first. */
const REMEMBERED_CHARS = 8_000_000;

export interface LiveHubDeps {
  bus: EventBus;
  logger: Logger;
  /** Whether an API key was revoked (its feeds end at their next event). */
  isRevoked: (keyId: string) => boolean;
  /** Reads tasks by id, in one query. */
  loadTasks: (ids: string[]) => Promise<Task[]>;
  /** Reads tenants' balances, for the resync after a lost connection. */
  loadBalances: (tenantIds: string[]) => Promise<BalanceChange[]>;
}

export class LiveHub {
  private readonly tasks = new Routes<Task>();
  private readonly tenantTasks = new Routes<Task>();
  private readonly balances = new Routes<BalanceChange>();
  /** The unchanging columns of tasks read or delivered, to complete their later events. */
  private readonly known = new Map<string, UnchangingColumns>();
  private knownChars = 0;
  /** Task events waiting for a read, in commit order; later ones wait behind them. */
  private pending: TaskChange[] = [];
  private draining = false;
  private readonly stops: (() => void)[];

  constructor(private readonly deps: LiveHubDeps) {
    this.stops = [
      deps.bus.on('task', (change) => this.onTask(change)),
      deps.bus.on('balance', (change) => this.balances.emit(change.tenantId, change)),
      deps.bus.onResync(() => void this.resync()),
    ];
  }

  /** Feeds one task's changes; call start(current) once the task has been read. */
  followTask(taskId: string, tenantId: string, keyId: string | null): TaskFeed {
    return new TaskFeed(this.tasks, taskId, tenantId, keyId, this.deps.isRevoked, (task) => this.remember(task));
  }

  /** Every change to a tenant's tasks; startWith() puts the tasks as read first. */
  followTenantTasks(tenantId: string, keyId: string | null): EveryEventFeed<Task> {
    return new EveryEventFeed<Task>(this.tenantTasks, tenantId, keyId, this.deps.isRevoked);
  }

  /** Every change to a tenant's balance; startWith() puts the balance as read first. */
  followBalance(tenantId: string, keyId: string | null): EveryEventFeed<BalanceChange> {
    return new EveryEventFeed<BalanceChange>(this.balances, tenantId, keyId, this.deps.isRevoked);
  }

  /** Feeds still registered (each open subscription has one). */
  size(): number {
    return this.tasks.count() + this.tenantTasks.count() + this.balances.count();
  }

  close(): void {
    for (const stop of this.stops) stop();
  }

  private onTask(change: TaskChange): void {
    const { id, tenantId } = change.task;
    if (!this.tasks.has(id) && !this.tenantTasks.has(tenantId)) return;
    // Behind events already waiting for a read, or when this one needs a read itself.
    if (this.draining || change.partial || !this.known.has(id)) {
      this.pending.push(change);
      void this.drain();
      return;
    }
    this.emit(mergeTask(this.known.get(id)!, change.task));
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        const missing = [...new Set(batch.filter((c) => c.partial || !this.known.has(c.task.id)).map((c) => c.task.id))];
        const read = new Map<string, Task>();
        if (missing.length > 0) {
          try {
            for (const task of await this.deps.loadTasks(missing)) read.set(task.id, task);
          } catch (error) {
            this.deps.logger.error({ err: error, tasks: missing.length }, 'live events dropped: could not read their tasks');
          }
        }
        for (const change of batch) {
          const row = read.get(change.task.id);
          // A partial event's task is as read: at least as new as the event.
          if (change.partial) {
            if (row) this.emit(row);
            continue;
          }
          const base = row ?? this.known.get(change.task.id);
          if (base) this.emit(mergeTask(base, change.task));
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private emit(task: Task): void {
    this.remember(task);
    this.tasks.emit(task.id, task);
    this.tenantTasks.emit(task.tenantId, task);
  }

  private remember(task: Task): void {
    this.forget(task.id);
    const columns: UnchangingColumns = { prompt: task.prompt, imageUrls: task.imageUrls };
    this.known.set(task.id, columns);
    this.knownChars += sizeOf(columns);
    while (this.knownChars > REMEMBERED_CHARS) this.forget(this.known.keys().next().value as string);
  }

  private forget(taskId: string): void {
    const columns = this.known.get(taskId);
    if (!columns) return;
    this.known.delete(taskId);
    this.knownChars -= sizeOf(columns);
  }

  /**
   * After the listener lost its connection, events in between are gone: each
   * followed task and balance is read again and pushed (feeds drop what is
   * not newer). A tenant's `tasksUpdated` cannot be replayed: its client
   * should query what it may have missed (README, "Events").
   */
  private async resync(): Promise<void> {
    try {
      for (const task of await this.deps.loadTasks(this.tasks.keys())) {
        this.remember(task);
        this.tasks.emit(task.id, task);
      }
      for (const balance of await this.deps.loadBalances(this.balances.keys())) this.balances.emit(balance.tenantId, balance);
    } catch (error) {
      this.deps.logger.error({ err: error }, 'live resync failed');
    }
  }
}

function sizeOf(columns: UnchangingColumns): number {
  let n = 16 + (columns.prompt?.length ?? 0);
  for (const url of columns.imageUrls) n += url.length;
  return n;
}
