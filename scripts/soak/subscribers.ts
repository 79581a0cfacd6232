// Live clients: per tenant, one graphql-ws connection (tasksUpdated and
// balanceChanged) and one SSE stream (tasksUpdated), each reconnecting to
// whichever gateway is up after a kill; and followers, which watch single
// tasks with taskUpdated (over WebSocket or SSE) until it completes with the
// final status, subscribing again after every drop (the subscription starts
// with the task's current state, so a follower cannot miss the end).
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { jitter } from './client.ts';
import type { GatewayPool } from './gateways.ts';
import { sleep } from './procs.ts';

export interface TaskEvent {
  id: string;
  status: string;
  model: string;
}

export interface FollowResult {
  via: 'ws' | 'sse';
  taskId: string;
  /** The last status seen before the subscription completed; null if it never did. */
  finalStatus: string | null;
  subscriptions: number;
}

const TERMINAL = new Set(['SUCCESS', 'FAILED']);
const TASKS_UPDATED = 'subscription { tasksUpdated { id status model } }';
const BALANCE_CHANGED = 'subscription { balanceChanged { available held } }';
const TASK_UPDATED = 'subscription($id: ID!) { taskUpdated(id: $id) { id status } }';

interface Sink<T> {
  next(value: T): void;
  /** Resolves when the subscription completes (true) or fails (false). */
}

export class Subscribers {
  readonly stats = { wsConnections: 0, wsEvents: 0, sseConnections: 0, sseEvents: 0, balanceEvents: 0, eventErrors: new Map<string, number>() };
  readonly follows: FollowResult[] = [];
  private readonly clients: Client[] = [];
  private readonly aborts = new Set<AbortController>();
  private stopped = false;
  private followersDone: Promise<void>[] = [];

  constructor(
    private readonly pool: GatewayPool,
    private readonly onTaskEvent: (tenant: number, event: TaskEvent) => void,
  ) {}

  /** The standing feeds of one tenant. */
  startTenant(tenant: number, key: string): Client {
    const client = createClient({
      url: () => this.pool.pickUrl().replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      lazy: true,
      retryAttempts: Number.POSITIVE_INFINITY,
      retryWait: () => sleep(jitter(200, 800)),
      shouldRetry: () => true,
      connectionParams: { authorization: `Bearer ${key}` },
      on: { connected: () => void this.stats.wsConnections++ },
    });
    this.clients.push(client);
    void this.forever(() =>
      this.wsOnce<{ tasksUpdated: TaskEvent }>(client, TASKS_UPDATED, {}, {
        next: (d) => {
          this.stats.wsEvents++;
          this.onTaskEvent(tenant, d.tasksUpdated);
        },
      }),
    );
    void this.forever(() => this.wsOnce(client, BALANCE_CHANGED, {}, { next: () => void this.stats.balanceEvents++ }));
    void this.forever(() =>
      this.sseOnce<{ tasksUpdated: TaskEvent }>(key, TASKS_UPDATED, {}, {
        next: (d) => {
          this.stats.sseEvents++;
          this.onTaskEvent(tenant, d.tasksUpdated);
        },
      }),
    );
    return client;
  }

  /** Follows one task until its subscription completes after a final status. */
  follow(client: Client, key: string, taskId: string, via: 'ws' | 'sse'): void {
    const result: FollowResult = { via, taskId, finalStatus: null, subscriptions: 0 };
    this.follows.push(result);
    const done = (async () => {
      while (!this.stopped) {
        result.subscriptions++;
        let last: string | null = null;
        const sink = { next: (d: { taskUpdated: TaskEvent }) => void (last = d.taskUpdated.status) };
        const completed = via === 'ws' ? await this.wsOnce(client, TASK_UPDATED, { id: taskId }, sink) : await this.sseOnce(key, TASK_UPDATED, { id: taskId }, sink);
        if (completed && last !== null && TERMINAL.has(last)) {
          result.finalStatus = last;
          return;
        }
        await sleep(jitter(200, 600));
      }
    })();
    this.followersDone.push(done);
  }

  get activeFollowers(): number {
    return this.follows.filter((f) => f.finalStatus === null).length;
  }

  /** Waits (bounded) for every follower to see its task end. */
  async waitForFollowers(timeoutMs: number): Promise<void> {
    await Promise.race([Promise.all(this.followersDone), sleep(timeoutMs)]);
  }

  private async forever(once: () => Promise<boolean>): Promise<void> {
    while (!this.stopped) {
      await once();
      if (!this.stopped) await sleep(jitter(200, 800));
    }
  }

  private countError(code: string): void {
    this.stats.eventErrors.set(code, (this.stats.eventErrors.get(code) ?? 0) + 1);
  }

  /** One graphql-ws subscription (the client itself reconnects); true if it completed, false if it failed. */
  private wsOnce<T>(client: Client, query: string, variables: Record<string, unknown>, sink: Sink<T>): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const dispose = client.subscribe<T>(
        { query, variables },
        {
          next: (result) => {
            for (const e of result.errors ?? []) this.countError(String((e as { extensions?: { code?: unknown } }).extensions?.code ?? 'ws-error'));
            if (result.data) sink.next(result.data as T);
          },
          error: () => {
            this.countError('ws-subscription-error');
            resolve(false);
          },
          complete: () => resolve(true),
        },
      );
      if (this.stopped) dispose();
    });
  }

  /** One SSE subscription (POST with Accept: text/event-stream); true if it completed, false if it dropped. */
  private async sseOnce<T>(key: string, query: string, variables: Record<string, unknown>, sink: Sink<T>): Promise<boolean> {
    const abort = new AbortController();
    this.aborts.add(abort);
    try {
      const res = await fetch(this.pool.pickUrl(), {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query, variables }),
        signal: abort.signal,
      });
      if (!res.ok || !res.body) {
        this.countError(`sse-http-${res.status}`);
        return false;
      }
      this.stats.sseConnections++;
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return false;
        buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (\w+)$/m.exec(frame)?.[1];
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          if (event === 'complete') return true;
          if (event !== 'next' || !data) continue;
          const parsed = JSON.parse(data) as { data?: T; errors?: { extensions?: { code?: string } }[] };
          for (const e of parsed.errors ?? []) this.countError(e.extensions?.code ?? 'sse-error');
          if (parsed.data) sink.next(parsed.data);
        }
      }
    } catch {
      return false;
    } finally {
      this.aborts.delete(abort);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const abort of this.aborts) abort.abort();
    await Promise.all(this.clients.map((c) => c.dispose()));
  }
}
