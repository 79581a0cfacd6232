// Opaque IDs: base64 of "<Type>:<id>", the Relay convention and the format of
// Pothos's global IDs, so ids in webhooks equal ids in GraphQL responses.

export function encodeGlobalId(typename: string, id: string | bigint): string {
  return Buffer.from(`${typename}:${String(id)}`, 'utf8').toString('base64');
}

/** The decoded parts, or null when `raw` is not a global id. */
export function decodeGlobalId(raw: string): { typename: string; id: string } | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(raw)) return null;
  const text = Buffer.from(raw, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0) return null;
  return { typename: text.slice(0, colon), id: text.slice(colon + 1) };
}
