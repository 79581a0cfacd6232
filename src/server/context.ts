import { GraphQLError } from 'graphql';
import type { AuditActor } from '../audit/log.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import type { Principal } from '../auth/principal.ts';
import { bearerToken } from '../auth/secrets.ts';
import type { Config } from '../config.ts';
import { RateLimitedError } from '../errors.ts';
import type { Store } from '../db/announce.ts';
import type { Db } from '../db/client.ts';
import type { LiveHub } from '../events/live.ts';
import type { Limits } from '../limits/index.ts';
import type { Logger } from '../logger.ts';
import type { GatewayMetrics } from '../metrics/registry.ts';
import type { TaskDeps } from '../tasks/deps.ts';

/** Long-lived dependencies shared by every request and connection. */
export interface AppDeps {
  config: Config;
  db: Db;
  /** The database and how statements announce their changes: what services that write take. */
  store: Store;
  logger: Logger;
  authenticator: Authenticator;
  /** What subscriptions read from (one bus listener per kind for the process). */
  live: LiveHub;
  /** Limits shared with every other process (src/limits/). */
  limits: Limits;
  tasks: TaskDeps;
  /** This process's Prometheus registry (/metrics). */
  metrics: GatewayMetrics;
}

/** Filled in as an HTTP request is handled, for its one access-log line. */
export interface RequestMeta {
  tenantId?: string;
  principal?: 'admin' | 'tenant';
  operationName?: string;
}

export function unauthenticated(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
}

/** Over a limit: RATE_LIMITED with the seconds to wait, and on HTTP (SSE too) 429 with Retry-After. */
export function rateLimited(message: string, retryAfterSeconds: number): GraphQLError {
  return new GraphQLError(message, {
    extensions: {
      code: 'RATE_LIMITED',
      retryAfterSeconds,
      http: { status: 429, headers: { 'Retry-After': String(retryAfterSeconds) } },
    },
  });
}

/**
 * Resolves an Authorization value to a principal. No header: anonymous (only
 * public fields resolve). A header that is malformed, unknown or revoked: 401;
 * from an address that has failed too often: 429 (auth/authenticator.ts).
 */
export async function authenticate(
  authenticator: Authenticator,
  authorization: string | null | undefined,
  address: string,
): Promise<Principal | null> {
  if (authorization == null || authorization === '') return null;
  const token = bearerToken(authorization);
  if (!token) throw unauthenticated('Malformed Authorization header: expected "Bearer <API key>"');
  let principal: Principal | null;
  try {
    principal = await authenticator.authenticate(token, address);
  } catch (error) {
    if (error instanceof RateLimitedError) throw rateLimited(error.message, error.retryAfterSeconds);
    throw error;
  }
  if (!principal) throw unauthenticated('Invalid or revoked API key');
  return principal;
}

/**
 * Takes one operation from the tenant's budget (TENANT_REQUESTS_PER_MINUTE,
 * every transport, every process); admins are not limited.
 */
export async function chargeOperation(deps: AppDeps, principal: Principal | null): Promise<void> {
  if (principal?.kind !== 'tenant') return;
  const verdict = await deps.limits.requests.take(principal.tenantId);
  if (verdict.ok) return;
  const seconds = Math.max(1, Math.ceil(verdict.retryAfterMs / 1000));
  throw rateLimited(`Rate limit: at most ${deps.limits.requests.points} operations per minute for this tenant; retry in ${seconds} s`, seconds);
}

/** The calling tenant's id; fields guarded by the `tenant` scope may rely on it. */
function tenantId(this: { principal: Principal | null }): string {
  if (this.principal?.kind !== 'tenant') throw new Error('tenantId() called without a tenant principal');
  return this.principal.tenantId;
}

/** The caller as the audit log names it: its key by id and prefix, or the ADMIN_TOKEN. */
function actor(this: { principal: Principal | null }): AuditActor {
  const p = this.principal;
  if (!p) throw new Error('actor() called without a principal');
  if (p.kind === 'tenant') return { kind: 'TENANT_KEY', keyId: p.keyId, prefix: p.keyPrefix };
  return p.keyId ? { kind: 'ADMIN_KEY', keyId: p.keyId, prefix: p.keyPrefix } : { kind: 'ADMIN_TOKEN', keyId: null, prefix: null };
}

/**
 * The one context for HTTP, SSE and WebSocket operations: the caller's
 * principal and the shared dependencies. Its type is the schema's Context.
 * It holds no closure of its own: a WebSocket subscription keeps its
 * context for hours, and thousands of them are open at once.
 */
export function buildContext(deps: AppDeps, principal: Principal | null, meta?: RequestMeta) {
  if (principal && meta) {
    meta.principal = principal.kind;
    if (principal.kind === 'tenant') meta.tenantId = principal.tenantId;
  }
  return { ...deps, principal, meta, tenantId, actor };
}

export type Context = ReturnType<typeof buildContext>;
