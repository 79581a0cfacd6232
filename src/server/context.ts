import { GraphQLError } from 'graphql';
import type { Authenticator } from '../auth/authenticator.ts';
import type { Principal } from '../auth/principal.ts';
import { bearerToken } from '../auth/secrets.ts';
import type { Config } from '../config.ts';
import type { Store } from '../db/announce.ts';
import type { Db } from '../db/client.ts';
import type { LiveHub } from '../events/live.ts';
import type { Logger } from '../logger.ts';
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
  tasks: TaskDeps;
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

/**
 * Resolves an Authorization value to a principal. No header: anonymous (only
 * public fields resolve). A header that is malformed, unknown or revoked: 401.
 */
export async function authenticate(
  authenticator: Authenticator,
  authorization: string | null | undefined,
): Promise<Principal | null> {
  if (authorization == null || authorization === '') return null;
  const token = bearerToken(authorization);
  if (!token) throw unauthenticated('Malformed Authorization header: expected "Bearer <API key>"');
  const principal = await authenticator.authenticate(token);
  if (!principal) throw unauthenticated('Invalid or revoked API key');
  return principal;
}

/** The calling tenant's id; fields guarded by the `tenant` scope may rely on it. */
function tenantId(this: { principal: Principal | null }): string {
  if (this.principal?.kind !== 'tenant') throw new Error('tenantId() called without a tenant principal');
  return this.principal.tenantId;
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
  return { ...deps, principal, meta, tenantId };
}

export type Context = ReturnType<typeof buildContext>;
