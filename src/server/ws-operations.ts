// WebSocket operations, run through the one pipeline: Yoga's envelop
// (`yoga.getEnveloped`, the same plugins as HTTP and SSE) parses, validates,
// builds the context, executes and subscribes; errors are masked and coded
// by the same policy (server/errors.ts). This file only moves results onto
// the socket: a query or mutation's one result, or a subscription's events,
// one at a time, pulling the next once the socket has taken the last (a slow
// client leaves events in its feed, which bounds them).
import { getOperationAST, GraphQLError, type ExecutionResult } from 'graphql';
import { MessageType, type FormattedExecutionResult, type Message, type SubscribePayload } from 'graphql-ws';
import type { Principal } from '../auth/principal.ts';
import type { Waker } from '../events/feeds.ts';
import { asGraphQLError, formatError, type Masker } from './errors.ts';
import { takeEventResults, type EventResults } from './live-subscribe.ts';
import type { GatewayYoga } from './yoga.ts';

/** Where an operation's messages go: its connection (websocket.ts). */
export interface OperationChannel {
  send(message: Message, sent?: () => void): void;
  /** Whether operation `id` is still wanted (not completed by the client, socket open). */
  wants(id: string): boolean;
  /** Sends `complete` and forgets the operation. */
  completed(id: string): void;
  /** Sends `error` and forgets the operation. */
  failed(id: string, errors: readonly GraphQLError[]): void;
}

export interface Operation {
  /** Starts delivering events. */
  pull(): void;
  /** Stops it without telling the client (the client completed it, or left). */
  stop(): void;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<ExecutionResult> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/** A result as sent: Yoga's internal extensions dropped from its errors, as on HTTP. */
export function formatResult(result: ExecutionResult): FormattedExecutionResult {
  const payload: FormattedExecutionResult = { data: result.data };
  if (result.errors?.length) payload.errors = result.errors.map(formatError);
  if (result.extensions) payload.extensions = result.extensions;
  return payload;
}

export class OperationRunner {
  constructor(
    private readonly yoga: GatewayYoga,
    /** The pipeline's masking policy (server/errors.ts). */
    private readonly masker: Masker,
  ) {}

  /** Masks what the pipeline did not (a failure outside execution, e.g. in the context factory). */
  mask(errors: readonly GraphQLError[]): GraphQLError[] {
    return errors.map(this.masker);
  }

  /**
   * Runs a query or mutation to its end, or starts a subscription and
   * returns it (not yet pulling). Errors are reported on the channel.
   */
  async start(channel: OperationChannel, connection: { principal: Principal }, id: string, payload: SubscribePayload): Promise<Operation | null> {
    try {
      // The initial context is the connection's (authenticated once); the
      // payload is not kept in it: a subscription would hold its query text for hours.
      const { parse, validate, contextFactory, execute, subscribe, schema } = this.yoga.getEnveloped({ connection } as never);
      let document;
      try {
        document = parse(payload.query);
      } catch (error) {
        channel.failed(id, [asGraphQLError(error)]);
        return null;
      }
      const errors = validate(schema, document);
      if (errors.length > 0) {
        channel.failed(id, errors);
        return null;
      }
      const operationName = payload.operationName ?? undefined;
      const operation = getOperationAST(document, operationName);
      if (!operation) {
        // As Yoga answers it over HTTP and SSE (OPERATION_RESOLUTION_FAILURE), not as a failure of ours.
        channel.failed(id, [
          new GraphQLError('Could not determine what operation to execute.', { extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } }),
        ]);
        return null;
      }
      const args = {
        schema,
        document,
        operationName,
        variableValues: payload.variables ?? undefined,
        contextValue: await contextFactory(),
      };
      const result: unknown = operation.operation === 'subscription' ? await subscribe(args) : await execute(args);
      // What the pipeline's subscribe started (live-subscribe.ts), under whatever the plugins wrapped
      // it in; taken whatever the result, so that nothing of one that failed to start stays behind.
      const results = operation.operation === 'subscription' ? takeEventResults(args) : undefined;
      if (isAsyncIterable(result)) {
        return new LiveOperation(channel, id, result[Symbol.asyncIterator](), results, this);
      }
      if (channel.wants(id)) {
        this.next(channel, id, result as ExecutionResult);
        channel.completed(id);
      }
      return null;
    } catch (error) {
      // Unexpected (masked in production): this operation fails, the connection stays.
      channel.failed(id, this.mask([asGraphQLError(error)]));
      return null;
    }
  }

  next(channel: OperationChannel, id: string, result: ExecutionResult, sent?: () => void): void {
    channel.send({ id, type: MessageType.Next, payload: formatResult(result) }, sent);
  }
}

/**
 * A running subscription: pulls one result at a time from the pipeline's
 * stream (the subscription's results as the plugins wrapped them, so their
 * hooks still see every event and failure) and sends it. Between events it
 * holds no promise: it asks the subscription's results themselves to wake it
 * (live-subscribe.ts), and pulls then.
 */
class LiveOperation implements Operation, Waker {
  private stopped = false;

  constructor(
    private readonly channel: OperationChannel,
    private readonly id: string,
    private readonly source: AsyncIterator<ExecutionResult>,
    private readonly results: EventResults | undefined,
    private readonly runner: OperationRunner,
  ) {}

  wake(): void {
    this.pull();
  }

  pull(): void {
    if (this.stopped) return;
    if (this.results?.wakeWhenReady(this)) return;
    this.source.next().then(
      (step) => this.deliver(step),
      (error: unknown) => this.fail(error),
    );
  }

  private deliver(step: IteratorResult<ExecutionResult>): void {
    if (this.stopped) return;
    if (step.done) {
      this.stopped = true;
      this.channel.completed(this.id);
      return;
    }
    if (!this.channel.wants(this.id)) return;
    this.runner.next(this.channel, this.id, step.value, () => this.pull());
  }

  /** The stream failed: `error`, as graphql-ws reports an iterator's failure. */
  private fail(error: unknown): void {
    if (this.stopped) return;
    this.stop();
    this.channel.failed(this.id, this.runner.mask([asGraphQLError(error)]));
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    void this.source.return?.();
  }
}
