// GraphQL over HTTP for the soak's clients, which expect the gateway to vanish
// mid-request: every failure is classified rather than thrown.

export type CallResult<T> =
  /** HTTP 200 with data and no top-level error. */
  | { kind: 'data'; data: T }
  /** A top-level GraphQL error (extensions.code), e.g. INTERNAL_SERVER_ERROR while the database restarts. */
  | { kind: 'error'; code: string; message: string }
  /** Refused, reset, timed out, or not a GraphQL answer: the gateway died or is starting. */
  | { kind: 'transport'; message: string };

export async function post<T>(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  token: string,
  timeoutMs = 20_000,
): Promise<CallResult<T>> {
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await res.text();
  } catch (error) {
    return { kind: 'transport', message: describe(error) };
  }
  let body: { data?: T | null; errors?: { message: string; extensions?: { code?: string } }[] };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    return { kind: 'transport', message: `HTTP ${res.status}: ${text.slice(0, 120)}` };
  }
  const first = body.errors?.[0];
  if (first) return { kind: 'error', code: first.extensions?.code ?? `HTTP_${res.status}`, message: first.message };
  if (body.data === undefined || body.data === null) return { kind: 'transport', message: `HTTP ${res.status} without data` };
  return { kind: 'data', data: body.data };
}

export function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: string; message?: string } | undefined;
  return cause?.code ?? cause?.message ?? error.name ?? error.message;
}

/** A result union member of a mutation: `Mutation<Name>Success { data }` or an `Error`. */
export interface Union<T> {
  __typename: string;
  data?: T;
  code?: string;
  message?: string;
  retryAfterSeconds?: number;
}

/** Decodes a Relay global id (`base64("Type:uuid")`) to the row id. */
export function rowId(globalId: string): string {
  const decoded = Buffer.from(globalId, 'base64').toString();
  return decoded.slice(decoded.indexOf(':') + 1);
}

export const jitter = (minMs: number, maxMs: number) => minMs + Math.random() * (maxMs - minMs);
