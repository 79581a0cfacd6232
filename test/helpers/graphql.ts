// A tiny GraphQL-over-HTTP client for tests: real fetch against the gateway.

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } & Record<string, unknown> }[];
}

export async function gql<T = unknown>(
  url: string,
  query: string,
  options: { variables?: Record<string, unknown>; token?: string | null; headers?: Record<string, string> } = {},
): Promise<GraphQLResponse<T>> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const res = await fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({ query, variables: options.variables }),
  });
  const body = (await res.json()) as Omit<GraphQLResponse<T>, 'status'>;
  return { status: res.status, ...body };
}

/** Unwraps a `Mutation<Name>Success { data }` result, failing loudly on an error member. */
export interface ResultUnion<T> {
  __typename: string;
  data?: T;
  code?: string;
  message?: string;
}

export function success<T>(result: ResultUnion<T>): T {
  if (!result.__typename.endsWith('Success')) {
    throw new Error(`expected success, got ${result.__typename}: ${result.code} ${result.message}`);
  }
  return result.data as T;
}

/** The row id (uuid) inside a Relay global id. */
export function rowId(globalId: string): string {
  return Buffer.from(globalId, 'base64').toString().split(':')[1]!;
}
