import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import {
  GraphQLError,
  createSourceEventStream,
  execute,
  getOperationAST,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';
import { MessageType, type FormattedExecutionResult, type Message, type SubscribePayload } from 'graphql-ws';
import { maskError } from 'graphql-yoga';
import type { Principal } from '../auth/principal.ts';
import type { Config } from '../config.ts';
import { Feed, type Waker } from '../events/live.ts';
import { buildContext, type AppDeps } from './context.ts';

// WebSocket operations run on graphql-js directly rather than through Yoga's
// envelop, with the same limits (graphql-armor's rules, GRAPHQL_*) and the
// same error masking as HTTP. A subscription holds no per-subscription
// graphql-js state: its source (a feed, events/live.ts) comes from the
// field's own `subscribe`, where Pothos checks its scopes, and each event is
// executed as graphql-js's own subscribe does, with the event as root value
// and a fresh context (README, "bench:subscriptions").

const MAX_CACHED_DOCUMENTS = 1000;

/** Parses and validates operations with the HTTP path's limits, caching valid documents. */
export function createOperationParser(schema: GraphQLSchema, limits: Config['graphql']) {
  const rules: ValidationRule[] = [
    ...specifiedRules,
    maxDepthRule({ n: limits.maxDepth }),
    maxAliasesRule({ n: limits.maxAliases }),
    costLimitRule({ maxCost: limits.maxCost }),
    maxDirectivesRule({ n: 50 }),
  ];
  const cache = new Map<string, DocumentNode>();
  return (query: string): DocumentNode | readonly GraphQLError[] => {
    const cached = cache.get(query);
    if (cached) return cached;
    let document: DocumentNode;
    try {
      document = parse(query, { maxTokens: limits.maxTokens });
    } catch (error) {
      return [error instanceof GraphQLError ? error : new GraphQLError('Syntax error')];
    }
    let errors: readonly GraphQLError[];
    try {
      errors = validate(schema, document, rules);
    } catch (error) {
      // graphql-armor's rules throw their rejection rather than report it.
      if (error instanceof GraphQLError) return [error];
      throw error;
    }
    if (errors.length > 0) return errors;
    if (cache.size >= MAX_CACHED_DOCUMENTS) cache.delete(cache.keys().next().value as string);
    cache.set(query, document);
    return document;
  };
}

/** Unexpected errors become "Unexpected error." (details only outside production), as on HTTP. */
export function maskErrors(errors: readonly GraphQLError[], production: boolean): GraphQLError[] {
  return errors.map((error) => maskError(error, 'Unexpected error.', !production) as GraphQLError);
}

/** Where an operation's messages go: its connection (websocket.ts). */
export interface OperationChannel {
  send(message: Message, sent?: () => void): void;
  /** Whether operation `id` is still wanted (not completed by the client, socket open). */
  wants(id: string): boolean;
  /** Sends `complete` and forgets the operation. */
  completed(id: string): void;
  /** Sends `error` (masked) and forgets the operation. */
  failed(id: string, errors: readonly GraphQLError[]): void;
}

export interface Operation {
  /** Starts delivering events. */
  pull(): void;
  /** Stops it without telling the client (the client completed it, or left). */
  stop(): void;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

function asGraphQLError(error: unknown): GraphQLError {
  if (error instanceof GraphQLError) return error;
  const original = error instanceof Error ? error : new Error(String(error));
  return new GraphQLError(original.message, { originalError: original });
}

/** Runs the operations of every connection of one server. */
export class OperationRunner {
  private readonly parse: ReturnType<typeof createOperationParser>;
  private readonly production: boolean;

  constructor(
    private readonly deps: AppDeps,
    readonly schema: GraphQLSchema,
  ) {
    this.parse = createOperationParser(schema, deps.config.graphql);
    this.production = deps.config.env === 'production';
  }

  mask(errors: readonly GraphQLError[]): GraphQLError[] {
    return maskErrors(errors, this.production);
  }

  /** The context of one execution: a query, a mutation, a subscription's start, or one of its events. */
  context(principal: Principal) {
    return buildContext(this.deps, principal);
  }

  /**
   * Runs a query or mutation to its end, or starts a subscription and
   * returns it (not yet pulling). Errors are reported on the channel.
   */
  async start(channel: OperationChannel, principal: Principal, id: string, payload: SubscribePayload): Promise<Operation | null> {
    try {
      const document = this.parse(payload.query);
      if (!('kind' in document)) {
        channel.failed(id, document);
        return null;
      }
      const operationName = payload.operationName ?? undefined;
      const variableValues = payload.variables ?? undefined;
      const operation = getOperationAST(document, operationName);
      if (!operation) {
        channel.failed(id, [new GraphQLError('Unable to identify operation')]);
        return null;
      }
      const args: ExecutionArgs = { schema: this.schema, document, operationName, variableValues, contextValue: this.context(principal) };
      if (operation.operation !== 'subscription') {
        const result = await execute(args);
        if (channel.wants(id)) {
          this.next(channel, id, result);
          channel.completed(id);
        }
        return null;
      }
      const source = await createSourceEventStream(args);
      if (!isAsyncIterable(source)) {
        // The subscription could not start (not allowed, not found…): one result, then complete.
        if (channel.wants(id)) {
          this.next(channel, id, source);
          channel.completed(id);
        }
        return null;
      }
      return new LiveOperation(this, channel, principal, id, source[Symbol.asyncIterator](), document, operationName, variableValues);
    } catch (error) {
      // Unexpected (masked in production): this operation fails, the connection stays.
      channel.failed(id, [asGraphQLError(error)]);
      return null;
    }
  }

  /** One event: executed as graphql-js's subscribe does, with the event as the root value. */
  executeEvent(operation: LiveOperation, event: unknown): ExecutionResult | Promise<ExecutionResult> {
    return execute({
      schema: this.schema,
      document: operation.document,
      operationName: operation.operationName,
      variableValues: operation.variableValues,
      rootValue: event,
      contextValue: this.context(operation.principal),
    });
  }

  next(channel: OperationChannel, id: string, result: ExecutionResult, sent?: () => void): void {
    const payload: FormattedExecutionResult = { data: result.data };
    if (result.errors?.length) payload.errors = this.mask(result.errors).map((e) => e.toJSON());
    if (result.extensions) payload.extensions = result.extensions;
    channel.send({ id, type: MessageType.Next, payload }, sent);
  }
}

/**
 * A running subscription: pulls one event at a time from its source,
 * executes it and sends it, and pulls the next once the socket has taken it
 * (a slow client leaves events in the feed, which bounds them). Between
 * events it holds no promise: a feed wakes it.
 */
class LiveOperation implements Operation, Waker {
  private stopped = false;

  constructor(
    private readonly runner: OperationRunner,
    private readonly channel: OperationChannel,
    readonly principal: Principal,
    private readonly id: string,
    private readonly source: AsyncIterator<unknown>,
    readonly document: DocumentNode,
    readonly operationName: string | undefined,
    readonly variableValues: Record<string, unknown> | undefined,
  ) {}

  pull(): void {
    if (this.stopped) return;
    // Idle on a feed: registered with it rather than holding a pending promise.
    if (this.source instanceof Feed && this.source.wakeWhenReady(this)) return;
    this.source.next().then(
      (step) => this.deliver(step),
      (error: unknown) => this.fail(error),
    );
  }

  wake(): void {
    this.pull();
  }

  private deliver(step: IteratorResult<unknown>): void {
    if (this.stopped) return;
    if (step.done) {
      this.stopped = true;
      this.channel.completed(this.id);
      return;
    }
    let result: ExecutionResult | Promise<ExecutionResult>;
    try {
      result = this.runner.executeEvent(this, step.value);
    } catch (error) {
      return this.fail(error);
    }
    if (result instanceof Promise) {
      result.then(
        (r) => this.emit(r),
        (error: unknown) => this.fail(error),
      );
    } else {
      this.emit(result);
    }
  }

  private emit(result: ExecutionResult): void {
    if (this.stopped || !this.channel.wants(this.id)) return;
    this.runner.next(this.channel, this.id, result, () => this.pull());
  }

  /** The source failed: `error`, as graphql-ws reports an iterator's failure. */
  private fail(error: unknown): void {
    if (this.stopped) return;
    this.stop();
    this.channel.failed(this.id, [asGraphQLError(error)]);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    void this.source.return?.();
  }
}
