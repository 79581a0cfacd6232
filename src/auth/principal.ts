import type { ApiKeyScope } from '../generated/prisma/enums.ts';

/**
 * Who is calling: resolved once per request or WebSocket connection. A key
 * carries its id and display prefix (what the audit log names), never its
 * secret; the ADMIN_TOKEN has neither.
 */
export type Principal =
  | { kind: 'admin'; keyId: string | null; keyPrefix: string | null }
  | { kind: 'tenant'; tenantId: string; keyId: string; keyPrefix: string; scopes: readonly ApiKeyScope[] };
