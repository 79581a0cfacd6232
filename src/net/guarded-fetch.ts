// An HTTP client for tenant-supplied URLs. The address check happens where it
// cannot be raced: in the socket's own DNS lookup, so the address we check is
// the address we connect to (a name that resolved to a public address when
// the URL was validated and to 127.0.0.1 now is still refused). Redirects are
// followed by hand so every hop goes through the same checks.
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { Agent, buildConnector, request } from 'undici';
import { ValidationError } from '../errors.ts';
import { classifyAddress } from './ip-classify.ts';
import {
  bareHostname,
  checkUrlSyntax,
  defaultLookup,
  defaultPort,
  isHostAllowed,
  type LookupFn,
  type SsrfPolicy,
  SsrfBlockedError,
} from './url-guard.ts';

export interface GuardedFetchInit {
  method: string;
  headers: Record<string, string>;
  body?: string;
  /** Budget for the whole exchange, redirects included. */
  timeoutMs: number;
  /** Default 3. */
  maxRedirects?: number;
}

export interface GuardedResponse {
  status: number;
  /** The first KiB of the body, as UTF-8: enough to show a receiver's error. */
  bodyText: string;
  /** The URL that produced this response, after redirects. */
  url: string;
}

const BODY_PREFIX_BYTES = 1024;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function socketLookup(lookup: LookupFn, check: boolean): LookupFunction {
  return (hostname, options, callback) => {
    void lookup(hostname).then(
      (all) => {
        const blocked = check ? all.find((a) => classifyAddress(a.address) !== 'public') : undefined;
        if (blocked) {
          const kind = classifyAddress(blocked.address);
          callback(new SsrfBlockedError(`${hostname} resolves to a ${kind} address`, kind), '');
          return;
        }
        const wanted = options.family === 4 || options.family === 6 ? all.filter((a) => a.family === options.family) : all;
        const first = wanted[0];
        if (!first) {
          callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '');
          return;
        }
        if (options.all) callback(null, wanted);
        else callback(null, first.address, first.family);
      },
      (error: unknown) => {
        callback(error instanceof Error ? error : new Error(String(error)), '');
      },
    );
  };
}

function guardedAgent(policy: SsrfPolicy, lookup: LookupFn, timeoutMs: number): Agent {
  const checked = buildConnector({ lookup: socketLookup(lookup, true), timeout: timeoutMs });
  const unchecked = buildConnector({ lookup: socketLookup(lookup, false), timeout: timeoutMs });
  const connect: buildConnector.connector = (options, callback) => {
    const host = bareHostname(options.hostname);
    const port = options.port || defaultPort(options.protocol);
    if (isHostAllowed(policy, host, port)) return unchecked(options, callback);
    // Node skips the lookup for IP literals, so they are checked here.
    if (isIP(host) !== 0) {
      const kind = classifyAddress(host);
      if (kind !== 'public') return callback(new SsrfBlockedError(`${host} is a ${kind} address`, kind), null);
    }
    return checked(options, callback);
  };
  return new Agent({ connect, keepAliveTimeout: 1_000 });
}

/** Syntax and literal-address checks for one hop; a refusal is an SsrfBlockedError. */
function vetHop(raw: string, policy: SsrfPolicy, what: 'target' | 'redirect target'): URL {
  try {
    return checkUrlSyntax(raw, what, policy);
  } catch (error) {
    if (error instanceof ValidationError) throw new SsrfBlockedError(`refused: ${error.message}`);
    throw error;
  }
}

function findBlocked(error: unknown): SsrfBlockedError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current instanceof SsrfBlockedError) return current;
    current = current.cause;
  }
  return undefined;
}

async function readPrefix(body: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  // Leaving the loop early destroys the stream: we never buffer a large body.
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= BODY_PREFIX_BYTES) break;
  }
  return Buffer.concat(chunks).subarray(0, BODY_PREFIX_BYTES).toString('utf8');
}

/**
 * Sends one request to a tenant-supplied URL, following at most
 * `maxRedirects` redirects (303, and 301/302 after a POST, become GET without
 * a body; 307/308 keep method and body). Throws SsrfBlockedError when any hop
 * points at a non-public address, otherwise the network error.
 */
export async function guardedFetch(
  url: string,
  init: GuardedFetchInit,
  policy: SsrfPolicy,
  lookup: LookupFn = defaultLookup,
): Promise<GuardedResponse> {
  const maxRedirects = init.maxRedirects ?? 3;
  const agent = guardedAgent(policy, lookup, init.timeoutMs);
  const signal = AbortSignal.timeout(init.timeoutMs);
  let target = vetHop(url, policy, 'target');
  let method = init.method.toUpperCase();
  let body = init.body;
  let headers = { ...init.headers };
  try {
    for (let hop = 0; ; hop++) {
      const res = await request(target, { method, headers, body, dispatcher: agent, signal });
      const location = res.headers.location;
      if (!REDIRECTS.has(res.statusCode) || typeof location !== 'string') {
        return { status: res.statusCode, bodyText: await readPrefix(res.body), url: target.href };
      }
      await res.body.dump();
      if (hop >= maxRedirects) throw new Error(`too many redirects (more than ${maxRedirects})`);
      let next: URL;
      try {
        next = new URL(location, target);
      } catch {
        throw new SsrfBlockedError('refused: redirect to an invalid location');
      }
      target = vetHop(next.href, policy, 'redirect target');
      if (res.statusCode === 303 || ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
        headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !/^content-/i.test(k)));
      }
    }
  } catch (error) {
    const blocked = findBlocked(error);
    if (blocked) throw blocked;
    if (signal.aborted) throw new Error(`timed out after ${init.timeoutMs} ms`, { cause: error });
    throw error;
  } finally {
    await agent.destroy().catch(() => undefined);
  }
}
