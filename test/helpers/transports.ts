// One operation over each of the gateway's three transports, answered in one
// shape, so a test can ask the same thing over HTTP, SSE and WebSocket and
// compare: the HTTP status (SSE too), the first result's data and errors,
// and for WebSocket an `error` message or the socket's close code.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

export interface GraphQLErrorJson {
  message: string;
  extensions?: { code?: string } & Record<string, unknown>;
}

export interface Answer {
  /** HTTP status (HTTP and SSE); 101 for WebSocket. */
  status: number;
  /** Retry-After header (HTTP and SSE). */
  retryAfter: string | null;
  data: unknown;
  errors: GraphQLErrorJson[];
  /** WebSocket: the close code when the socket closed before an answer. */
  closeCode?: number;
}

export interface Operation {
  query: string;
  variables?: Record<string, unknown>;
  token?: string | null;
  headers?: Record<string, string>;
}

function headersOf(op: Operation, accept: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    accept,
    ...(op.token ? { authorization: `Bearer ${op.token}` } : {}),
    ...op.headers,
  };
}

export async function overHttp(url: string, op: Operation): Promise<Answer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: headersOf(op, 'application/graphql-response+json, application/json'),
    body: JSON.stringify({ query: op.query, variables: op.variables }),
  });
  const body = (await res.json()) as { data?: unknown; errors?: GraphQLErrorJson[] };
  return { status: res.status, retryAfter: res.headers.get('retry-after'), data: body.data, errors: body.errors ?? [] };
}

/** The first `next` event of an SSE response (the stream is closed after it). */
export async function overSse(url: string, op: Operation): Promise<Answer> {
  const controller = new AbortController();
  const res = await fetch(url, {
    method: 'POST',
    headers: headersOf(op, 'text/event-stream'),
    body: JSON.stringify({ query: op.query, variables: op.variables }),
    signal: controller.signal,
  });
  const answer: Answer = { status: res.status, retryAfter: res.headers.get('retry-after'), data: undefined, errors: [] };
  if (!res.headers.get('content-type')?.includes('text/event-stream')) {
    const body = (await res.json()) as { data?: unknown; errors?: GraphQLErrorJson[] };
    return { ...answer, data: body.data, errors: body.errors ?? [] };
  }
  try {
    for await (const result of sseNext<{ data?: unknown; errors?: GraphQLErrorJson[] }>(res)) {
      return { ...answer, data: result.data, errors: result.errors ?? [] };
    }
    return answer;
  } finally {
    controller.abort();
  }
}

/** Each `next` event's payload of an SSE response (Yoga's GraphQL over SSE), in order, until the stream ends. */
export async function* sseNext<T>(res: Response): AsyncGenerator<T> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    buffered += decoder.decode(read.value, { stream: true });
    for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const data = block.split('\n').find((line) => line.startsWith('data: '));
      if (block.includes('event: next') && data) yield JSON.parse(data.slice(6)) as T;
    }
  }
}

/** The first result of one operation on a fresh connection (closed after it). */
export async function overWebSocket(url: string, op: Operation): Promise<Answer> {
  let closeCode: number | undefined;
  const client = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: op.token ? { authorization: `Bearer ${op.token}` } : {},
    on: { closed: (event) => (closeCode = (event as { code: number }).code) },
  });
  try {
    return await new Promise<Answer>((resolve, reject) => {
      const answered = (data: unknown, errors: GraphQLErrorJson[]) => resolve({ status: 101, retryAfter: null, data, errors });
      client.subscribe(
        { query: op.query, variables: op.variables },
        {
          next: (result) => answered(result.data, (result.errors ?? []) as GraphQLErrorJson[]),
          // An `error` message (the operation could not run), or the socket closed.
          error: (error) => {
            if (Array.isArray(error)) answered(undefined, error as GraphQLErrorJson[]);
            else if (closeCode !== undefined || (error as { code?: number }).code !== undefined) {
              resolve({ status: 101, retryAfter: null, data: undefined, errors: [], closeCode: closeCode ?? (error as { code: number }).code });
            } else reject(error);
          },
          complete: () => answered(undefined, []),
        },
      );
    });
  } finally {
    await client.dispose();
  }
}

export const TRANSPORTS = { HTTP: overHttp, SSE: overSse, WebSocket: overWebSocket } as const;
export type TransportName = keyof typeof TRANSPORTS;

/** The codes of an answer's errors. */
export function codes(answer: Answer): unknown[] {
  return answer.errors.map((e) => e.extensions?.code);
}
