// Shared test wiring: a real simulator over HTTP and a client pointed at it,
// with retry timings shrunk so failure paths run in milliseconds.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createUpstreamClient, type UpstreamClient, type UpstreamClientOptions } from '../../src/upstream/client.ts';
import { type SimulatorHandle, startSimulator, type StartSimulatorOptions } from '../../src/simulator/server.ts';

export const FAST_RETRY = { maxAttempts: 6, baseDelayMs: 5, maxDelayMs: 40, deadlineMs: 5_000 };

export function clientFor(sim: SimulatorHandle, overrides: Partial<UpstreamClientOptions> = {}): UpstreamClient {
  return createUpstreamClient({
    baseUrl: sim.url,
    apiKey: sim.apiKey,
    timeoutMs: 2_000,
    maxConcurrency: 32,
    connections: 8,
    retry: FAST_RETRY,
    ...overrides,
  });
}

export async function startTestSimulator(options: StartSimulatorOptions = {}): Promise<SimulatorHandle> {
  return startSimulator({ seed: 42, latencyMs: '20-60', ...options });
}

/** A raw request to the simulator, for what the client deliberately cannot send. */
export async function raw(
  sim: SimulatorHandle,
  path: string,
  init: { method?: string; body?: string; key?: string | null; headers?: Record<string, string> } = {},
): Promise<{ status: number; json: unknown; headers: Headers }> {
  const headers: Record<string, string> = { ...init.headers };
  const key = init.key === undefined ? sim.apiKey : init.key;
  if (key !== null) headers.authorization = `Bearer ${key}`;
  if (init.body !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(sim.url + path, { method: init.method ?? 'GET', headers, body: init.body });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    // keep text
  }
  return { status: res.status, json, headers: res.headers };
}

export interface CallbackReceiver {
  url: string;
  received: unknown[];
  /** Status the receiver answers with. */
  setStatus(code: number): void;
  waitFor(n: number, timeoutMs?: number): Promise<unknown[]>;
  close(): Promise<void>;
}

export async function startCallbackReceiver(): Promise<CallbackReceiver> {
  const received: unknown[] = [];
  let status = 200;
  const readAll = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };
  const server = createServer((req, res) => {
    void readAll(req).then((text) => {
      if (status === 200) received.push(JSON.parse(text));
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook?token=secret`,
    received,
    setStatus: (code) => {
      status = code;
    },
    async waitFor(n, timeoutMs = 3_000) {
      const until = Date.now() + timeoutMs;
      while (received.length < n && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      return received;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Polls until the task leaves IN_PROGRESS (the simulator's latency is tens of ms here). */
export async function waitDone(client: UpstreamClient, taskId: string, timeoutMs = 3_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const record = await client.status(taskId);
    if (record.status !== 'IN_PROGRESS' || Date.now() > until) return record;
    await new Promise((r) => setTimeout(r, 15));
  }
}

export async function expectRejection<E extends Error>(promise: Promise<unknown>, type: new (...args: never[]) => E): Promise<E> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof type) return err;
    throw new Error(`expected ${type.name}, got ${String(err)}`, { cause: err });
  }
  throw new Error(`expected ${type.name}, but the call succeeded`);
}
