import { GraphQLError } from 'graphql';
import type { Task } from '../generated/prisma/client.ts';
import type { BalanceChange } from './change-events.ts';
import { isNewer, isTerminal } from './task-status.ts';

// What subscriptions read from: the hub (live.ts) routes every event to the
// feeds waiting for it, by task id or by tenant id. A feed is a small
// AsyncIterator object (no generator, no per-subscription bus listener or
// Redis channel): a subscription lives as long as its socket, and one process
// holds thousands of them (README, "bench:subscriptions"). Subscription
// resolvers return feeds; the pipeline's subscribe (server/live-subscribe.ts)
// consumes them for SSE and WebSocket alike.

/** Undelivered events one feed may hold before it fails (its consumer stopped reading). */
export const MAX_BUFFERED_EVENTS = 1000;

interface Sink<E> {
  push(event: E): void;
}

/**
 * Feeds by routing key; a key with no feed left is removed. Most keys have
 * one feed (one subscriber per task), kept without a Set.
 */
export class Routes<E> {
  private readonly feeds = new Map<string, Sink<E> | Set<Sink<E>>>();

  add(key: string, feed: Sink<E>): void {
    const current = this.feeds.get(key);
    if (current === undefined) this.feeds.set(key, feed);
    else if (current instanceof Set) current.add(feed);
    else this.feeds.set(key, new Set([current, feed]));
  }

  remove(key: string, feed: Sink<E>): void {
    const current = this.feeds.get(key);
    if (current === feed) this.feeds.delete(key);
    else if (current instanceof Set && current.delete(feed) && current.size === 0) this.feeds.delete(key);
  }

  emit(key: string, event: E): void {
    const current = this.feeds.get(key);
    if (current instanceof Set) for (const feed of current) feed.push(event);
    else current?.push(event);
  }

  has(key: string): boolean {
    return this.feeds.has(key);
  }

  keys(): string[] {
    return [...this.feeds.keys()];
  }

  count(): number {
    let n = 0;
    for (const current of this.feeds.values()) n += current instanceof Set ? current.size : 1;
    return n;
  }
}

/** A consumer that would rather be told when a feed has something than keep a next() pending. */
export interface Waker {
  wake(): void;
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * One subscriber's events: registered on `routes` under `key` from creation
 * until it ends (its consumer calls return(), it reaches its last value, or
 * it fails). Events wait in a queue until the consumer asks for them.
 */
export abstract class Feed<E, T> implements AsyncIterableIterator<T>, Sink<E> {
  private queue: T[] | null = null;
  private waiter: ((result: IteratorResult<T>) => void) | null = null;
  private failWaiter: ((error: unknown) => void) | null = null;
  private waker: Waker | null = null;
  /** Set when no more values will be added; the queue still drains. */
  private finished = false;
  private failure: unknown = null;

  constructor(
    private readonly routes: Routes<E>,
    private readonly key: string,
    /** The API key behind the subscription: a revoked key's feeds end at their next event. */
    private readonly keyId: string | null,
    private readonly isRevoked: (keyId: string) => boolean,
  ) {
    routes.add(key, this);
  }

  /** Turns an event into values for this subscriber (via offer), or ignores it. */
  protected abstract accept(event: E): void;

  push(event: E): void {
    if (this.finished) return;
    if (this.keyId !== null && this.isRevoked(this.keyId)) return this.finish();
    this.accept(event);
  }

  /** Queues a value for the consumer, or hands it over if one is waiting. */
  protected offer(value: T): void {
    if (this.finished) return;
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = this.failWaiter = null;
      waiter({ done: false, value });
      return;
    }
    const queue = (this.queue ??= []);
    if (queue.length >= MAX_BUFFERED_EVENTS) {
      this.fail(
        new GraphQLError(`Subscription ended: more than ${MAX_BUFFERED_EVENTS} events were not read`, {
          extensions: { code: 'SLOW_CONSUMER' },
        }),
      );
      return;
    }
    queue.push(value);
    this.wake();
  }

  private wake(): void {
    const waker = this.waker;
    this.waker = null;
    waker?.wake();
  }

  /**
   * Instead of a pending next(): calls `waker.wake()` once next() has
   * something to return (a value, the end, or a failure), and returns true;
   * returns false, and registers nothing, when it has something already.
   * An idle subscription then holds no promise (server/ws-operations.ts).
   */
  wakeWhenReady(waker: Waker): boolean {
    if (this.queue || this.finished || this.failure !== null) return false;
    this.waker = waker;
    return true;
  }

  /** No more values: the consumer gets what is queued, then the end. */
  protected finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.routes.remove(this.key, this);
    const waiter = this.waiter;
    this.waiter = this.failWaiter = null;
    waiter?.(DONE);
    this.wake();
  }

  private fail(error: unknown): void {
    if (this.finished) return;
    const failWaiter = this.failWaiter;
    this.waiter = this.failWaiter = null;
    this.queue = null;
    // Kept for the next next() (a waker's, if finish() wakes one), unless one is pending.
    if (!failWaiter) this.failure = error;
    this.finish();
    failWaiter?.(error);
  }

  next(): Promise<IteratorResult<T>> {
    const queue = this.queue;
    if (queue) {
      const value = queue.shift()!;
      // An emptied array keeps its capacity: dropped, since most feeds are idle most of the time.
      if (queue.length === 0) this.queue = null;
      return Promise.resolve({ done: false, value });
    }
    if (this.failure !== null) {
      const failure = this.failure;
      this.failure = null;
      return Promise.reject(failure);
    }
    if (this.finished) return Promise.resolve(DONE);
    if (this.waiter) return Promise.reject(new Error('next() called again before the previous call settled'));
    return new Promise((resolve, reject) => {
      this.waiter = resolve;
      this.failWaiter = reject;
    });
  }

  /**
   * A subscription's start: `first`, the state read once this feed was
   * listening, goes before the values queued meanwhile, of which only those
   * `keep` accepts stay (given the value before each, as it will be
   * delivered). Called before the feed is handed to its consumer.
   */
  startWith(first: readonly T[], keep: (queued: T, previous: T | undefined) => boolean): this {
    if (this.finished) return this;
    const values = [...first];
    for (const value of this.queue ?? []) if (keep(value, values.at(-1))) values.push(value);
    this.queue = null;
    for (const value of values) this.offer(value);
    return this;
  }

  return(): Promise<IteratorResult<T>> {
    this.queue = null;
    this.failure = null;
    this.waker = null;
    this.finish();
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/**
 * One task, for `taskUpdated`: created before the task is read, so that no
 * change is missed; start(current) then puts the current state first and
 * drops whatever is not newer. Ends after a terminal status.
 */
export class TaskFeed extends Feed<Task, Task> {
  private last: Task['status'] | null = null;
  private started = false;
  /** Events before start(), unfiltered. */
  private early: Task[] | null = null;

  constructor(
    routes: Routes<Task>,
    taskId: string,
    private readonly tenantId: string,
    keyId: string | null,
    isRevoked: (keyId: string) => boolean,
    /** Told the task as read, so the hub can complete later events of it without a read. */
    private readonly remember: (task: Task) => void,
  ) {
    super(routes, taskId, keyId, isRevoked);
  }

  protected accept(task: Task): void {
    // Routed by task id; the tenant check is a second lock on isolation.
    if (task.tenantId !== this.tenantId) return;
    if (this.started) this.follow(task);
    else (this.early ??= []).push(task);
  }

  /** The task as just read (it belongs to the subscriber's tenant). */
  start(current: Task): this {
    this.remember(current);
    const early = this.early ?? [];
    this.early = null;
    this.started = true;
    this.follow(current);
    for (const task of early) this.follow(task);
    return this;
  }

  private follow(task: Task): void {
    if (!isNewer(task.status, this.last)) return;
    this.last = task.status;
    this.offer(task);
    if (isTerminal(task.status)) this.finish();
  }
}

/**
 * Every event routed to it, as it is: every change to any task of one tenant
 * (`tasksUpdated`), or every change of one tenant's balance, with the balance
 * as that change committed it (`balanceChanged`).
 */
export class EveryEventFeed<E> extends Feed<E, E> {
  protected accept(event: E): void {
    this.offer(event);
  }
}


/**
 * `tasksUpdated`'s start: the tenant's tasks in flight as read (oldest
 * first), then what the feed queued while they were read, less what the read
 * shows already: an event of a task read is kept only if its status is newer,
 * or the same with a later updatedAt. Events of tasks not read (ended
 * before, or created since) are kept.
 */
export function startTenantTasks(feed: EveryEventFeed<Task>, inFlight: readonly Task[]): EveryEventFeed<Task> {
  const read = new Map(inFlight.map((task) => [task.id, task]));
  return feed.startWith(inFlight, (event) => {
    const row = read.get(event.id);
    if (!row) return true;
    if (event.status !== row.status) return isNewer(event.status, row.status);
    return event.updatedAt.getTime() > row.updatedAt.getTime();
  });
}

/**
 * `balanceChanged`'s start: the balance as read, then what the feed queued
 * meanwhile, less repeats of the balance just before. Balance events carry no
 * version, so a queued event the read already shows cannot always be told
 * apart: one that committed just before the read may follow it (a stale
 * balance, then the latest again). Never a gap: the last event is always the
 * balance as last committed.
 */
export function startBalance(feed: EveryEventFeed<BalanceChange>, current: BalanceChange): EveryEventFeed<BalanceChange> {
  return feed.startWith([current], (event, previous) =>
    !previous || event.available !== previous.available || event.held !== previous.held || event.low !== previous.low,
  );
}
