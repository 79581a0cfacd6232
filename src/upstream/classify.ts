// The retry policy: what one attempt's outcome means for the call, and the
// typed error a call ends with. Pure, so "retry, give up, or may the task
// exist?" is decided in one place.
import {
  UpstreamAuthError,
  UpstreamCreditsError,
  type UpstreamError,
  type UpstreamOperation,
  UpstreamOutageError,
  UpstreamProtocolError,
  UpstreamRateLimitError,
  UpstreamRejectedError,
} from './errors.ts';
import { parseRetryAfter } from './retry.ts';
import type { AttemptOutcome } from './transport.ts';
import { envelopeCodeOf, errorMessageOf } from './wire.ts';

export type Verdict =
  /** A 2xx with a JSON body: hand it to the operation's parser. */
  | { type: 'ok'; json: unknown }
  /** Stop now: retrying cannot help. */
  | { type: 'fatal'; kind: 'auth' | 'credits' | 'rejected'; httpStatus: number; upstreamMessage?: string }
  /**
   * Worth retrying. `unsafe` means this attempt may have reached upstream, so a
   * generate must not be resent unless the caller allows it.
   */
  | {
      type: 'retry';
      kind: 'rate_limit' | 'unavailable' | 'protocol';
      reason: 'http' | 'timeout' | 'network' | 'body';
      unsafe: boolean;
      httpStatus?: number;
      retryAfterSeconds?: number;
      detail: string;
    };

// 500 and 503 are upstream's own answer, read as "no task created"; other 5xx
// usually come from a proxy that gave up on a backend which may have acted.
const SAFE_5XX = new Set([500, 503]);

function fromStatus(status: number, body: unknown, headers: Record<string, string | undefined>): Verdict {
  const upstreamMessage = errorMessageOf(body);
  const detail = `HTTP ${status}${upstreamMessage ? `: ${upstreamMessage}` : ''}`;
  if (status === 401 || status === 403) return { type: 'fatal', kind: 'auth', httpStatus: status, ...msg(upstreamMessage) };
  if (status === 402) return { type: 'fatal', kind: 'credits', httpStatus: status, ...msg(upstreamMessage) };
  if (status === 429) {
    const retryAfterSeconds = parseRetryAfter(headers['retry-after']);
    return {
      type: 'retry',
      kind: 'rate_limit',
      reason: 'http',
      unsafe: false,
      httpStatus: status,
      detail,
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    };
  }
  // 408: the server gave up reading our request, so it did not act on it.
  if (status === 408 || SAFE_5XX.has(status)) {
    // A 503 may say when to come back; honour it like a 429's.
    const retryAfterSeconds = parseRetryAfter(headers['retry-after']);
    return {
      type: 'retry',
      kind: 'unavailable',
      reason: 'http',
      unsafe: false,
      httpStatus: status,
      detail,
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    };
  }
  if (status >= 500) {
    return { type: 'retry', kind: 'unavailable', reason: 'http', unsafe: true, httpStatus: status, detail };
  }
  return { type: 'fatal', kind: 'rejected', httpStatus: status, ...msg(upstreamMessage) };
}

function msg(upstreamMessage: string | undefined): { upstreamMessage?: string } {
  return upstreamMessage === undefined ? {} : { upstreamMessage };
}

export function classify(outcome: AttemptOutcome, operation: UpstreamOperation): Verdict {
  if (outcome.type === 'timeout') {
    return {
      type: 'retry',
      kind: 'unavailable',
      reason: 'timeout',
      unsafe: outcome.sent,
      detail: outcome.sent ? 'timed out waiting for the response' : 'timed out before a connection was free',
    };
  }
  if (outcome.type === 'network') {
    return {
      type: 'retry',
      kind: 'unavailable',
      reason: 'network',
      unsafe: outcome.sent,
      detail: `${outcome.code}: ${outcome.message}`,
    };
  }
  if (outcome.status >= 200 && outcome.status < 300) {
    if (!outcome.jsonOk) {
      // Upstream accepted a generate and we cannot read the task id: it most likely exists.
      return {
        type: 'retry',
        kind: 'protocol',
        reason: 'body',
        unsafe: operation === 'generate',
        httpStatus: outcome.status,
        detail: `HTTP ${outcome.status} with a non-JSON body: ${outcome.text.slice(0, 120)}`,
      };
    }
    // The contract says to decide by HTTP status, but an envelope that reports
    // its own error code inside a 200 is not a success either.
    const code = envelopeCodeOf(outcome.json);
    if (code !== undefined && code >= 400 && code <= 599) return fromStatus(code, outcome.json, outcome.headers);
    return { type: 'ok', json: outcome.json };
  }
  return fromStatus(outcome.status, outcome.jsonOk ? outcome.json : undefined, outcome.headers);
}

/** The error for an answer that retrying cannot change. */
export function fatalError(
  verdict: Extract<Verdict, { type: 'fatal' }>,
  operation: UpstreamOperation,
  attempts: number,
  uncertain: boolean,
): UpstreamError {
  const suffix = verdict.upstreamMessage ? `: ${verdict.upstreamMessage}` : '';
  const details = { operation, attempts, httpStatus: verdict.httpStatus, mayHaveReachedUpstream: uncertain };
  if (verdict.kind === 'auth') {
    return new UpstreamAuthError(`upstream ${operation}: API key rejected (HTTP ${verdict.httpStatus})${suffix}`, details);
  }
  if (verdict.kind === 'credits') {
    return new UpstreamCreditsError(`upstream ${operation}: reseller account out of credits${suffix}`, details);
  }
  return new UpstreamRejectedError(`upstream ${operation} rejected (HTTP ${verdict.httpStatus})${suffix}`, {
    ...details,
    ...(verdict.upstreamMessage === undefined ? {} : { upstreamMessage: verdict.upstreamMessage }),
  });
}

/** The error for a failure we stopped retrying: out of budget, or not safe to resend. */
export function finalError(
  verdict: Extract<Verdict, { type: 'retry' }>,
  operation: UpstreamOperation,
  attempts: number,
  uncertain: boolean,
): UpstreamError {
  const details = {
    operation,
    attempts,
    mayHaveReachedUpstream: uncertain,
    ...(verdict.httpStatus === undefined ? {} : { httpStatus: verdict.httpStatus }),
  };
  const message = `upstream ${operation} failed after ${attempts} attempt(s): ${verdict.detail}`;
  if (verdict.kind === 'rate_limit') {
    return new UpstreamRateLimitError(message, {
      ...details,
      ...(verdict.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: verdict.retryAfterSeconds }),
    });
  }
  if (verdict.kind === 'protocol') return new UpstreamProtocolError(message, details);
  const reason = verdict.reason === 'body' ? 'http' : verdict.reason;
  return new UpstreamOutageError(message, { ...details, reason });
}
