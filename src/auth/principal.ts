/** Who is calling: resolved once per request or WebSocket connection. */
export type Principal =
  | { kind: 'admin'; keyId: string | null }
  | { kind: 'tenant'; tenantId: string; keyId: string };
