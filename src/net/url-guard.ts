// Validation of URLs the gateway will fetch or post to on a tenant's behalf
// (callbacks, image URLs): http(s) only, and only to public addresses, so a
// tenant cannot make the gateway reach its own network or cloud metadata.
// Checking here is for clear errors at submission time; the connect-time check
// in guarded-fetch.ts is what actually stops DNS rebinding.
import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import { ValidationError } from '../errors.ts';
import { type AddressClass, classifyAddress } from './ip-classify.ts';

export interface SsrfPolicy {
  /**
   * Hosts exempt from the address checks, for development and tests: `host`
   * (any port) or `host:port`, e.g. `localhost`, `127.0.0.1:4010`,
   * `[::1]:8080`. Matched against the URL's host as written, not against
   * what it resolves to.
   */
  allowHosts: string[];
}

export const DEFAULT_SSRF_POLICY: SsrfPolicy = { allowHosts: [] };

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to all its addresses; injectable so tests can simulate DNS. */
export type LookupFn = (hostname: string) => Promise<ResolvedAddress[]>;

export const defaultLookup: LookupFn = (hostname) => dns.lookup(hostname, { all: true });

/** The gateway refused to connect to a target because of where it points. */
export class SsrfBlockedError extends Error {
  readonly code = 'SSRF_BLOCKED';
  constructor(
    message: string,
    readonly addressClass?: AddressClass,
  ) {
    super(message);
    this.name = 'SsrfBlockedError';
  }
}

export const MAX_URL_LENGTH = 2048;
const DNS_TIMEOUT_MS = 5_000;

/** Splits a comma- or space-separated list (an env variable) into allow-list entries. */
export function parseAllowHosts(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(/[\s,]+/)
    .map((entry) => entry.trim().toLowerCase())
    .filter((entry) => entry.length > 0);
}

/** The host without IPv6 brackets or a trailing dot, lower-cased. */
export function bareHostname(hostname: string): string {
  let host = hostname.toLowerCase();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host.endsWith('.')) host = host.slice(0, -1);
  return host;
}

export function defaultPort(protocol: string): string {
  return protocol === 'https:' ? '443' : '80';
}

function splitEntry(entry: string): { host: string; port: string | null } {
  const e = entry.trim().toLowerCase();
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(e);
  if (bracketed) return { host: bracketed[1] ?? '', port: bracketed[2] ?? null };
  // More than one colon and no brackets: a bare IPv6 address.
  const colons = e.split(':').length - 1;
  if (colons === 1) {
    const [host = '', port = ''] = e.split(':');
    return { host: bareHostname(host), port };
  }
  return { host: bareHostname(e), port: null };
}

export function isHostAllowed(policy: SsrfPolicy, hostname: string, port: string): boolean {
  const host = bareHostname(hostname);
  return policy.allowHosts.some((entry) => {
    const allowed = splitEntry(entry);
    return allowed.host === host && (allowed.port === null || allowed.port === port);
  });
}

function isAllowedUrl(url: URL, policy: SsrfPolicy): boolean {
  return isHostAllowed(policy, url.hostname, url.port || defaultPort(url.protocol));
}

/** RFC 6761: `localhost` and its subdomains are loopback whatever DNS says. */
function isLocalhostName(host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost');
}

/**
 * Synchronous checks: parses, http/https only, no credentials, at most 2048
 * characters, and an IP-literal (or `localhost`) host must be public unless
 * allow-listed. Host names are not resolved here; see `assertPublicUrl`.
 */
export function checkUrlSyntax(raw: string, field: string, policy: SsrfPolicy = DEFAULT_SSRF_POLICY): URL {
  if (raw.length > MAX_URL_LENGTH) throw new ValidationError(`${field} must be at most ${MAX_URL_LENGTH} characters`, field);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ValidationError(`${field} must be an absolute http or https URL`, field);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ValidationError(`${field} must use http or https`, field);
  }
  if (url.username !== '' || url.password !== '') {
    throw new ValidationError(`${field} must not contain credentials`, field);
  }
  if (isAllowedUrl(url, policy)) return url;
  const host = bareHostname(url.hostname);
  if (isLocalhostName(host)) throw new ValidationError(`${field} points to a loopback address`, field);
  // WHATWG URL parsing already normalised tricks like http://2130706433/ to 127.0.0.1.
  if (isIP(host) !== 0) {
    const kind = classifyAddress(host);
    if (kind !== 'public') throw new ValidationError(`${field} points to a ${kind} address`, field);
  }
  return url;
}

async function resolveWithTimeout(hostname: string, lookup: LookupFn): Promise<ResolvedAddress[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('DNS lookup timed out')), DNS_TIMEOUT_MS);
    timer.unref();
  });
  try {
    return await Promise.race([lookup(hostname), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `checkUrlSyntax`, then resolves the host: every address must be public
 * (one private answer is enough for an attacker who controls the DNS). An
 * allow-listed host(:port) skips the address checks. Throws ValidationError,
 * also when the name does not resolve.
 */
export async function assertPublicUrl(
  raw: string,
  field: string,
  policy: SsrfPolicy,
  lookup: LookupFn = defaultLookup,
): Promise<URL> {
  const url = checkUrlSyntax(raw, field, policy);
  const host = bareHostname(url.hostname);
  if (isAllowedUrl(url, policy) || isIP(host) !== 0) return url;
  let addresses: ResolvedAddress[];
  try {
    addresses = await resolveWithTimeout(host, lookup);
  } catch {
    throw new ValidationError(`${field} host ${host} does not resolve`, field);
  }
  if (addresses.length === 0) throw new ValidationError(`${field} host ${host} does not resolve`, field);
  for (const { address } of addresses) {
    const kind = classifyAddress(address);
    if (kind !== 'public') throw new ValidationError(`${field} resolves to a ${kind} address`, field);
  }
  return url;
}
