// The typed Grok Imagine client: request building, the retry loop, the
// concurrency cap, and turning outcomes into typed results or errors.
import { pino, type Logger } from 'pino';
import { classify, fatalError, finalError, type Verdict } from './classify.ts';
import { type UpstreamOperation, UpstreamOutageError } from './errors.ts';
import { toWireInput, type UpstreamInputByModel, type UpstreamModel } from './models.ts';
import { backoffDelay, DEFAULT_RETRY, type RetryOptions, Semaphore, sleep } from './retry.ts';
import { createTransport } from './transport.ts';
import {
  normaliseStatus,
  parseGenerateBody,
  parseStatusBody,
  toTaskRecord,
  type UpstreamGenerateResult,
  type UpstreamTaskRecord,
} from './wire.ts';

export interface UpstreamClientOptions {
  /** Base URL including `/api`, e.g. https://grok5imagine.com/api or a simulator's `url`. */
  baseUrl: string;
  apiKey: string;
  /** One HTTP attempt, from sending to the end of the body. Default 15000. */
  timeoutMs?: number;
  /** Requests in flight at once; the rest queue (bounded by the retry deadline). Default 64. */
  maxConcurrency?: number;
  /** Keep-alive connections in the undici pool. Default 32. */
  connections?: number;
  retry?: Partial<RetryOptions>;
  logger?: Logger;
}

export interface GenerateOptions {
  callbackUrl?: string;
  public?: boolean;
  /**
   * Resend a generate even after an attempt that may have reached upstream
   * (timeout, reset after sending, 502/504, unreadable 2xx). That risks a
   * duplicate task and charge, reported as `mayHaveDuplicate`. Default false.
   */
  retryUnsafe?: boolean;
}

export interface UpstreamClient {
  generate<M extends UpstreamModel>(
    model: M,
    input: UpstreamInputByModel[M],
    options?: GenerateOptions,
  ): Promise<UpstreamGenerateResult>;
  status(taskId: string): Promise<UpstreamTaskRecord>;
  /** Requests in flight and waiting for a slot, for metrics. */
  load(): { inFlight: number; queued: number };
  close(): Promise<void>;
}

type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

interface CallSpec<T> {
  operation: UpstreamOperation;
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  parse: (json: unknown) => Parsed<T>;
  retryUnsafe: boolean;
}

export function createUpstreamClient(options: UpstreamClientOptions): UpstreamClient {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const retry: RetryOptions = { ...DEFAULT_RETRY, ...options.retry };
  const logger = options.logger ?? pino({ level: 'silent' });
  const semaphore = new Semaphore(options.maxConcurrency ?? 64);
  const transport = createTransport({
    baseUrl: options.baseUrl,
    apiKey: options.apiKey,
    connections: options.connections ?? 32,
  });

  let closed = false;

  async function call<T>(spec: CallSpec<T>): Promise<{ value: T; attempts: number; uncertain: boolean }> {
    const deadline = Date.now() + retry.deadlineMs;
    // Set once any attempt of a generate may have reached upstream; it sticks.
    let uncertain = false;
    for (let attempt = 1; ; attempt++) {
      if (closed) {
        // Retrying against a closed pool until the deadline would only delay shutdown.
        throw new UpstreamOutageError(`upstream ${spec.operation}: the client is closed`, {
          operation: spec.operation,
          attempts: attempt - 1,
          reason: 'network',
          mayHaveReachedUpstream: uncertain,
        });
      }
      const remaining = deadline - Date.now();
      // The first attempt always gets its full timeout; the deadline bounds retries.
      const slotWait = attempt === 1 ? Math.max(remaining, timeoutMs) : remaining;
      if (!(await semaphore.acquire(slotWait))) {
        throw new UpstreamOutageError(`upstream ${spec.operation}: no free request slot before the deadline`, {
          operation: spec.operation,
          attempts: attempt - 1,
          reason: 'queue',
          mayHaveReachedUpstream: uncertain,
        });
      }
      let verdict: Verdict;
      try {
        const attemptTimeout = attempt === 1 ? timeoutMs : Math.min(timeoutMs, Math.max(1, deadline - Date.now()));
        const outcome = await transport.send(spec.method, spec.path, spec.body, attemptTimeout);
        verdict = classify(outcome, spec.operation);
      } finally {
        semaphore.release();
      }

      if (verdict.type === 'ok') {
        const parsed = spec.parse(verdict.json);
        if (parsed.ok) return { value: parsed.value, attempts: attempt, uncertain };
        verdict = {
          type: 'retry',
          kind: 'protocol',
          reason: 'body',
          unsafe: spec.operation === 'generate',
          detail: `malformed body: ${parsed.problem}`,
        };
      }
      if (verdict.type === 'fatal') {
        if (verdict.kind === 'auth') {
          // Every tenant's request will fail until an operator fixes the key: say so loudly.
          logger.error(
            { operation: spec.operation, httpStatus: verdict.httpStatus },
            'upstream rejected the gateway API key (UPSTREAM_API_KEY); all upstream calls will fail until it is fixed',
          );
        } else if (verdict.kind === 'credits') {
          logger.error({ operation: spec.operation }, 'upstream reseller account is out of credits');
        }
        throw fatalError(verdict, spec.operation, attempt, uncertain);
      }

      const unsafe = spec.operation === 'generate' && verdict.unsafe;
      uncertain ||= unsafe;
      const mayRetry = !unsafe || spec.retryUnsafe;
      const delay =
        verdict.retryAfterSeconds !== undefined
          ? verdict.retryAfterSeconds * 1000
          : backoffDelay(attempt, retry);
      const outOfBudget = attempt >= retry.maxAttempts || Date.now() + delay >= deadline;
      if (!mayRetry || outOfBudget) {
        const err = finalError(verdict, spec.operation, attempt, uncertain);
        logger.warn(
          { operation: spec.operation, attempts: attempt, kind: err.kind, mayHaveReachedUpstream: err.mayHaveReachedUpstream },
          `upstream ${spec.operation} gave up: ${verdict.detail}`,
        );
        throw err;
      }
      logger.debug({ operation: spec.operation, attempt, delayMs: delay }, `upstream ${spec.operation} retry: ${verdict.detail}`);
      await sleep(delay);
    }
  }

  function statusOf(raw: string, taskId: string) {
    const { status, known } = normaliseStatus(raw);
    if (!known) logger.warn({ taskId, rawStatus: raw }, 'upstream sent an unknown task status; treating it as IN_PROGRESS');
    return status;
  }

  return {
    async generate(model, input, opts = {}) {
      const body: Record<string, unknown> = { model, input: toWireInput(input) };
      if (opts.callbackUrl !== undefined) body.callback_url = opts.callbackUrl;
      if (opts.public !== undefined) body.public = opts.public;
      const { value, attempts, uncertain } = await call({
        operation: 'generate',
        method: 'POST',
        path: '/generate',
        body,
        parse: parseGenerateBody,
        retryUnsafe: opts.retryUnsafe ?? false,
      });
      if (uncertain) {
        logger.warn({ taskId: value.taskId, attempts }, 'upstream generate succeeded after an uncertain attempt; a duplicate task may exist');
      }
      return {
        taskId: value.taskId,
        status: statusOf(value.rawStatus, value.taskId),
        rawStatus: value.rawStatus,
        attempts,
        mayHaveDuplicate: uncertain,
      };
    },

    async status(taskId) {
      const { value } = await call({
        operation: 'status',
        method: 'GET',
        path: `/status?task_id=${encodeURIComponent(taskId)}`,
        parse: parseStatusBody,
        retryUnsafe: true,
      });
      return toTaskRecord(value, statusOf(value.status, value.task_id));
    },

    load() {
      return { inFlight: semaphore.inFlight, queued: semaphore.queued };
    },

    close() {
      closed = true;
      return transport.close();
    },
  };
}
