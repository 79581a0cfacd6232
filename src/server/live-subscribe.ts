// The pipeline's subscribe function (an envelop plugin, so SSE and WebSocket
// share it). graphql-js's createSourceEventStream starts the subscription:
// the field's own `subscribe`, where Pothos checks its scopes, returns a feed
// (events/live.ts). Each event then runs through the pipeline's `execute`,
// with the event as root value, as graphql-js's own subscribe executes it,
// so every plugin's execution hooks (error masking, logging, metrics) see
// each event as they see a query.
//
// It replaces Yoga's executor for subscriptions because a live subscription
// is held for hours by thousands of clients: this keeps one small object per
// subscription between its feed and the transport, where the general
// executor kept an execution context, generators and a chain of mapping
// iterators (README, "bench:subscriptions").
import { createSourceEventStream, execute as executeEvent, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { Feed, type Waker } from '../events/feeds.ts';
import type { LiveSlots } from '../limits/index.ts';
import { rateLimited, type Context } from './context.ts';
import { asGraphQLError, maskResult, type Masker } from './errors.ts';

type Execute = (args: ExecutionArgs) => ExecutionResult | Promise<ExecutionResult> | AsyncIterable<unknown>;

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/**
 * A layer of the operation's context for one execution (the start, or one
 * event): what resolvers and Pothos cache per context (scope checks, loaders)
 * hangs on the layer and goes with it, instead of living as long as the
 * subscription. A copy rather than Object.create: a context used as a
 * prototype costs V8 a prototype map per subscription.
 */
function layer(contextValue: unknown): unknown {
  return { ...(contextValue as object) };
}

/** How long a client over a live cap is told to wait: about one lease heartbeat. */
const LIVE_RETRY_SECONDS = 10;

/**
 * A tenant's slots for one subscription (src/limits/live-slots.ts): the
 * subscription, and for SSE, where each subscription is its own stream, a
 * connection too; a WebSocket's connection slot is its socket's.
 */
class LiveLease {
  private held = true;

  constructor(
    private readonly slots: LiveSlots,
    private readonly tenantId: string,
    private readonly stream: boolean,
  ) {}

  release(): void {
    if (!this.held) return;
    this.held = false;
    this.slots.release(this.tenantId, 'subscription');
    if (this.stream) this.slots.release(this.tenantId, 'connection');
  }
}

/** Takes a tenant's slots for a subscription starting, or the error that refuses it (429 on SSE). */
async function leaseLive(context: Context & { connection?: unknown }): Promise<LiveLease | null> {
  const principal = context.principal;
  if (principal?.kind !== 'tenant') return null;
  const slots = context.limits.live;
  const stream = context.connection === undefined;
  if (stream && !(await slots.acquire(principal.tenantId, 'connection'))) {
    throw rateLimited(`Too many live connections for this tenant (max ${slots.cap('connection')})`, LIVE_RETRY_SECONDS);
  }
  if (!(await slots.acquire(principal.tenantId, 'subscription'))) {
    if (stream) slots.release(principal.tenantId, 'connection');
    throw rateLimited(`Too many live subscriptions for this tenant (max ${slots.cap('subscription')})`, LIVE_RETRY_SECONDS);
  }
  return new LiveLease(slots, principal.tenantId, stream);
}

/** One subscription's results: pulls its source, executes each event through the pipeline. */
export class EventResults implements AsyncIterableIterator<ExecutionResult> {
  constructor(
    private readonly source: AsyncIterator<unknown>,
    private readonly args: ExecutionArgs,
    private readonly execute: Execute,
    /** Its live slots, given back when it ends. */
    private readonly lease: LiveLease | null,
  ) {}

  async next(): Promise<IteratorResult<ExecutionResult>> {
    const step = await this.source.next();
    if (step.done) {
      this.lease?.release();
      return { done: true, value: undefined };
    }
    const args = { ...this.args, contextValue: layer(this.args.contextValue), rootValue: step.value };
    events.add(args);
    const result = await this.execute(args);
    if (isAsyncIterable(result)) throw new Error('a subscription event cannot stream');
    return { done: false, value: result };
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    this.lease?.release();
    await this.source.return?.();
    return { done: true, value: undefined };
  }

  async throw(error: unknown): Promise<IteratorResult<ExecutionResult>> {
    this.lease?.release();
    await this.source.return?.();
    throw error;
  }

  /**
   * Instead of a pending next(): `waker.wake()` once next() has something to
   * return, and true; false when it has something already. A transport that
   * uses it (server/ws-operations.ts) holds no promise for an idle subscription.
   */
  wakeWhenReady(waker: Waker): boolean {
    return this.source instanceof Feed && this.source.wakeWhenReady(waker);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/**
 * WebSocket subscriptions started, by the arguments the transport passed to
 * `subscribe`, until it takes them (takeEventResults, at once). The stream
 * `subscribe` returns is not always the EventResults: envelop wraps it in an
 * iterator of its own for any plugin's onSubscribeError, onNext or onEnd (for
 * the metrics plugin's onSubscribeError, every subscription). The
 * transport pulls that stream, so every plugin still sees every event, but
 * asks the EventResults under it to wake it: an idle subscription then holds
 * no pending next() (an async call, its promises and their reactions, through
 * every wrapper) for its whole life. SSE streams are pulled by Yoga, and
 * register nothing.
 */
const started = new WeakMap<object, EventResults>();

/** The EventResults that `subscribe(args)` started for a WebSocket operation, once; undefined if none. */
export function takeEventResults(args: object): EventResults | undefined {
  const results = started.get(args);
  started.delete(args);
  return results;
}

/**
 * The arguments of event executions. Yoga's engine would answer `execute` of
 * a subscription document by subscribing again; for these, the plugin's
 * execute hook hands the execution to graphql-js's `execute`, which resolves
 * the subscription field on the event, as graphql-js's subscribe does.
 */
const events = new WeakSet<object>();

/** The plugin; `mask` is the pipeline's policy, applied here to what fails before any event. */
export function useLiveSubscribe(mask: Masker): Plugin {
  // `execute` of the pipeline (the yoga instance's envelop), for events.
  let execute: Execute | null = null;
  return {
    onYogaInit({ yoga }) {
      execute = (args) => yoga.getEnveloped(args.contextValue as never).execute(args) as ReturnType<Execute>;
    },
    onExecute({ args, setExecuteFn }) {
      if (events.has(args)) setExecuteFn(executeEvent);
    },
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(async (args: ExecutionArgs) => {
        let lease: LiveLease | null = null;
        try {
          lease = await leaseLive(args.contextValue as Context);
          const source = await createSourceEventStream({ ...args, contextValue: layer(args.contextValue) });
          if (!isAsyncIterable(source)) {
            lease?.release();
            return maskResult(source as ExecutionResult, mask);
          }
          const results = new EventResults(source[Symbol.asyncIterator](), args, execute!, lease);
          if ((args.contextValue as { connection?: unknown }).connection !== undefined) started.set(args, results);
          return results;
        } catch (error) {
          lease?.release();
          // A failure to start is this operation's result, not a thrown error.
          return maskResult({ errors: [asGraphQLError(error)] }, mask);
        }
      });
    },
  };
}
