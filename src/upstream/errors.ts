// Typed failures of the upstream client. The gateway decides what to do from
// `kind` (and, for generate, `mayHaveReachedUpstream`), never from messages.
//
// The reading we take of "may the task exist upstream?" after a failed
// /generate (the contract has no idempotency key):
// - 401, 402, 429, 400-type rejections: upstream answered and refused, so no
//   task was created.
// - 500 and 503: upstream answered with its own error. We read that as "no task
//   created" (the contract calls 500 transient and says to retry it), so these
//   are retried even for /generate.
// - 502, 504 and other 5xx: typically a proxy in front of upstream gave up,
//   which says nothing about whether the backend stored the task: may exist.
// - Connection refused, DNS failure, connect timeout, or a timeout while the
//   request still waited in our pool for a socket: nothing was sent.
// - Timeout waiting for the response, connection reset or closed once the
//   request was handed to a socket: the body may have been received and acted on.
// - A 2xx whose body we cannot parse: upstream accepted it; the task most
//   likely exists but we lost its id.

export type UpstreamErrorKind =
  | 'auth'
  | 'credits'
  | 'rate_limit'
  | 'unavailable'
  | 'protocol'
  | 'rejected';

export type UpstreamOperation = 'generate' | 'status';

export interface UpstreamErrorDetails {
  operation: UpstreamOperation;
  httpStatus?: number;
  attempts?: number;
  cause?: unknown;
  /** See `UpstreamError.mayHaveReachedUpstream`; false unless said otherwise. */
  mayHaveReachedUpstream?: boolean;
}

export abstract class UpstreamError extends Error {
  abstract readonly kind: UpstreamErrorKind;
  readonly operation: UpstreamOperation;
  readonly httpStatus: number | undefined;
  /** How many HTTP attempts were made before giving up. */
  readonly attempts: number;
  /**
   * For generate: true when some attempt may have been received by upstream,
   * i.e. a task (and its charge) may exist although we hold no id for it.
   * Besides timeouts and resets, this is also true of e.g. a final 429 when
   * `retryUnsafe` let an earlier, uncertain attempt be resent. Always false for status.
   */
  readonly mayHaveReachedUpstream: boolean;

  constructor(message: string, details: UpstreamErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.operation = details.operation;
    this.httpStatus = details.httpStatus;
    this.attempts = details.attempts ?? 1;
    this.mayHaveReachedUpstream = details.operation === 'generate' && (details.mayHaveReachedUpstream ?? false);
  }
}

/** 401: the gateway's upstream key is missing or wrong. A configuration problem; never retried. */
export class UpstreamAuthError extends UpstreamError {
  readonly kind = 'auth' as const;
}

/** 402: the reseller account cannot cover the deduction. */
export class UpstreamCreditsError extends UpstreamError {
  readonly kind = 'credits' as const;
}

/** 429 that outlasted the retry budget. */
export class UpstreamRateLimitError extends UpstreamError {
  readonly kind = 'rate_limit' as const;
  readonly retryAfterSeconds: number | undefined;
  constructor(message: string, details: UpstreamErrorDetails & { retryAfterSeconds?: number }) {
    super(message, details);
    this.retryAfterSeconds = details.retryAfterSeconds;
  }
}

/**
 * Upstream could not be reached or did not answer properly (kind
 * 'unavailable'): 5xx, timeout, network or queue failure that outlasted the
 * retry budget, or was not safe to retry. Not to be confused with the domain
 * error `UpstreamUnavailableError` (src/errors.ts), which is what a tenant is told.
 */
export class UpstreamOutageError extends UpstreamError {
  readonly kind = 'unavailable' as const;
  /** What went wrong on the last attempt: 'http' (5xx), 'timeout', 'network' or 'queue' (no free slot before the deadline). */
  readonly reason: 'http' | 'timeout' | 'network' | 'queue';
  constructor(
    message: string,
    details: UpstreamErrorDetails & { reason: UpstreamOutageError['reason'] },
  ) {
    super(message, details);
    this.reason = details.reason;
  }
}

/** A response body that does not match the contract. For generate, a 2xx we could not read means the task probably exists. */
export class UpstreamProtocolError extends UpstreamError {
  readonly kind = 'protocol' as const;
}

/** 400-type refusals (validation, unknown task): upstream's message is passed on. */
export class UpstreamRejectedError extends UpstreamError {
  readonly kind = 'rejected' as const;
  /** Upstream's own `message`, when its body had one. */
  readonly upstreamMessage: string | undefined;
  constructor(message: string, details: UpstreamErrorDetails & { upstreamMessage?: string }) {
    super(message, details);
    this.upstreamMessage = details.upstreamMessage;
  }
}

export function isUpstreamError(err: unknown): err is UpstreamError {
  return err instanceof UpstreamError;
}

/**
 * Whether a failed generate may have left a task (and a charge) upstream.
 * Anything that is not a typed upstream error counts as "may exist": a bug
 * between sending and parsing must not be read as "nothing happened".
 */
export function mayTaskExistUpstream(err: unknown): boolean {
  if (!(err instanceof UpstreamError)) return true;
  return err.mayHaveReachedUpstream;
}
