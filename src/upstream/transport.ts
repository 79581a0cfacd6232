// One HTTP attempt against upstream over a keep-alive undici Pool, through the
// dispatch API so we can tell "never written" from "may have been received". It never
// throws: every result, including timeouts and socket errors, comes back as an
// outcome the client's retry policy can classify.
import { type Dispatcher, Pool } from 'undici';

export interface TransportOptions {
  baseUrl: string;
  apiKey: string;
  connections: number;
}

export type AttemptOutcome =
  | {
      type: 'response';
      status: number;
      headers: Record<string, string | undefined>;
      /** Parsed JSON, or undefined when the body was not JSON. */
      json: unknown;
      jsonOk: boolean;
      text: string;
    }
  /** No complete response within the attempt's timeout; `sent` is false if it never left the pool's queue. */
  | { type: 'timeout'; sent: boolean }
  /** A socket-level failure; `sent` is false only when the request certainly never left. */
  | { type: 'network'; sent: boolean; code: string; message: string };

/** Failures that happen before a single byte of the request could reach the server. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  // Dispatching to a pool that was already closed.
  'UND_ERR_CLOSED',
]);

// Bodies larger than this are not upstream's JSON; stop reading rather than buffer them.
const MAX_BODY_BYTES = 2 * 1024 * 1024;

export interface Transport {
  send(method: 'GET' | 'POST', path: string, body: unknown, timeoutMs: number): Promise<AttemptOutcome>;
  close(): Promise<void>;
}

function errorCode(err: unknown): { code: string; message: string } {
  // undici wraps socket errors (UND_ERR_SOCKET around ECONNRESET...); look down the cause chain.
  const codes: string[] = [];
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as Error & { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    current = current.cause;
  }
  const notSent = codes.find((c) => NOT_SENT_CODES.has(c));
  const message = err instanceof Error ? err.message : String(err);
  return { code: notSent ?? codes[0] ?? 'UNKNOWN', message };
}

export function createTransport(options: TransportOptions): Transport {
  const base = new URL(options.baseUrl);
  const basePath = base.pathname.replace(/\/+$/, '');
  const pool = new Pool(base.origin, {
    connections: options.connections,
    // Below Node's default server keep-alive (5s), so we drop idle sockets before
    // the server does and do not lose a generate to a keep-alive race.
    keepAliveTimeout: 4_000,
    keepAliveTimeoutThreshold: 1_000,
    pipelining: 1,
  });
  const authorization = `Bearer ${options.apiKey}`;

  function send(method: 'GET' | 'POST', path: string, body: unknown, timeoutMs: number): Promise<AttemptOutcome> {
    return new Promise<AttemptOutcome>((resolve) => {
      // `started` flips when undici hands the request to a socket, right before
      // writing it. Until then nothing can have reached upstream, which is what
      // lets a generate that timed out while queued in the pool be retried.
      let started = false;
      let finished = false;
      let tooLarge = false;
      let controller: Dispatcher.DispatchController | undefined;
      let status = 0;
      let headers: Record<string, string | undefined> = {};
      const chunks: Buffer[] = [];
      let size = 0;

      const finish = (outcome: AttemptOutcome) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      const timer = setTimeout(() => {
        finish({ type: 'timeout', sent: started });
        controller?.abort(new Error('upstream attempt timed out'));
      }, timeoutMs);

      const handler: Dispatcher.DispatchHandler = {
        onRequestStart(ctrl) {
          controller = ctrl;
          // Timed out while queued: abort before a byte is written.
          if (finished) ctrl.abort(new Error('upstream attempt timed out while queued'));
          else started = true;
        },
        onResponseStart(_ctrl, statusCode, responseHeaders) {
          status = statusCode;
          headers = {};
          for (const [k, v] of Object.entries(responseHeaders)) headers[k] = Array.isArray(v) ? v[0] : v;
        },
        onResponseData(ctrl, chunk) {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) {
            tooLarge = true;
            ctrl.abort(new Error('upstream response body too large'));
            return;
          }
          chunks.push(chunk);
        },
        onResponseEnd() {
          finish(toResponse(status, headers, Buffer.concat(chunks).toString('utf8')));
        },
        onResponseError(_ctrl, err) {
          // An oversized body is still an answer: a body we cannot read.
          if (tooLarge) return finish({ type: 'response', status, headers, json: undefined, jsonOk: false, text: '' });
          const { code, message } = errorCode(err);
          finish({ type: 'network', sent: started && !NOT_SENT_CODES.has(code), code, message });
        },
      };

      const requestHeaders: Record<string, string> = { authorization, accept: 'application/json' };
      let payload: string | undefined;
      if (body !== undefined) {
        payload = JSON.stringify(body);
        requestHeaders['content-type'] = 'application/json';
      }
      try {
        pool.dispatch({ method, path: basePath + path, headers: requestHeaders, body: payload ?? null }, handler);
      } catch (err) {
        const { code, message } = errorCode(err);
        finish({ type: 'network', sent: false, code, message });
      }
    });
  }

  return {
    send,
    async close() {
      // A graceful close waits for in-flight requests; do not let a hung one hold shutdown.
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), 2_000);
      });
      const result = await Promise.race([pool.close().then(() => 'closed' as const), grace]);
      clearTimeout(timer);
      if (result === 'timeout') await pool.destroy();
    },
  };
}

function toResponse(status: number, headers: Record<string, string | undefined>, text: string): AttemptOutcome {
  try {
    return { type: 'response', status, headers, json: JSON.parse(text) as unknown, jsonOk: true, text };
  } catch {
    return { type: 'response', status, headers, json: undefined, jsonOk: false, text };
  }
}
