import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

/** A real graphql-ws client over `ws`, authenticated with connectionParams. */
export function wsClient(httpUrl: string, token: string | null, options: { lazy?: boolean } = {}): Client & { closed: Promise<{ code: number; reason: string }> } {
  let resolveClosed: (value: { code: number; reason: string }) => void = () => {};
  const closed = new Promise<{ code: number; reason: string }>((resolve) => (resolveClosed = resolve));
  const client = createClient({
    url: httpUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    lazy: options.lazy ?? true,
    retryAttempts: 0,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    on: {
      closed: (event) => {
        const e = event as { code: number; reason: string };
        resolveClosed({ code: e.code, reason: String(e.reason) });
      },
    },
  });
  return Object.assign(client, { closed });
}

export interface Collected<T> {
  items: T[];
  errors: unknown[];
  done: Promise<void>;
  /** Resolves once `n` items have arrived. */
  next(n: number, timeoutMs?: number): Promise<T[]>;
  stop(): void;
}

/** Subscribes and collects every `data[field]`, until completion or stop(). */
export function collect<T>(client: Client, query: string, variables: Record<string, unknown> = {}): Collected<T> {
  const items: T[] = [];
  const errors: unknown[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => (finish = resolve));
  const stop = client.subscribe<Record<string, T>>(
    { query, variables },
    {
      next: (result) => {
        if (result.errors) errors.push(...result.errors);
        const value = result.data ? Object.values(result.data)[0] : undefined;
        if (value !== undefined) items.push(value as T);
        for (const w of waiters.filter((w) => items.length >= w.n)) w.resolve();
      },
      error: (error) => {
        errors.push(error);
        finish();
      },
      complete: () => finish(),
    },
  );
  return {
    items,
    errors,
    done,
    stop,
    next(n, timeoutMs = 15_000) {
      if (items.length >= n) return Promise.resolve(items.slice(0, n));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${items.length} of ${n} items: ${JSON.stringify(items)} ${JSON.stringify(errors)}`)), timeoutMs);
        waiters.push({ n, resolve: () => (clearTimeout(timer), resolve(items.slice(0, n))) });
      });
    },
  };
}
