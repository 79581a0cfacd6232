// The simulator's HTTP server (plain node:http) and the handle tests use to
// steer it: faults, run-time options, credits, counters, forced completion.
import { randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createCallbackSender } from './callbacks.ts';
import { type Fault, type FaultMode, type FaultOptions, createFaultQueue, createRateLimiter } from './faults.ts';
import { envelope, readBody, type SimResponse, writeJson } from './http-io.ts';
import { resolveSimulatorOptions, SIMULATOR_DEFAULTS, type SimulatorOptions, type SimulatorOptionsInput } from './options.ts';
import { createRng } from './rng.ts';
import {
  allowedMethods,
  type Endpoint,
  endpointOf,
  handleGallery,
  handleGenerate,
  handleIndex,
  handleStatus,
  serveFile,
} from './routes.ts';
import { saveResult } from './result-files.ts';
import { createTaskStore, type SimOutcome, type SimTask } from './store.ts';
import { createCounters, type SimulatorCounters } from './counters.ts';

export interface SimulatorHandle {
  /** Base URL for the client, ending with `/api`. */
  url: string;
  /**
   * Where result URLs point: result files live under `${origin}/files/`. The
   * simulator's own scheme, host and port, unless `publicUrl` says otherwise
   * (the gateway's in-process simulator: `${PUBLIC_URL}/simulator`).
   */
  readonly origin: string;
  port: number;
  apiKey: string;
  /** The seed in use (chosen at random when none was given). */
  seed: number;
  options(): SimulatorOptions;
  /**
   * Changes options at run time; latency and failure draws apply to tasks
   * created afterwards, `credits` sets the balance. Port, host and seed are fixed.
   */
  configure(partial: SimulatorOptionsInput): void;
  /** The next `n` matching API requests fail in the given way. */
  failNext(n: number, mode: FaultMode, options?: FaultOptions): void;
  clearFaults(): void;
  counters(): SimulatorCounters;
  resetCounters(): void;
  /** The reseller account's balance. */
  credits(): number;
  setCredits(n: number): void;
  /** A snapshot of one task, or undefined. */
  task(id: string): SimTask | undefined;
  tasks(): SimTask[];
  /** Completes one task (or every unfinished one) now, with its planned outcome unless one is given. */
  completeNow(id?: string, outcome?: SimOutcome): number;
  /** Resolves once every callback delivery started so far has finished. */
  callbacksIdle(): Promise<void>;
  stop(): Promise<void>;
}

export type StartSimulatorOptions = SimulatorOptionsInput & {
  port?: number;
  host?: string;
  /**
   * Where result files are kept: written when a task succeeds, served after
   * a restart on the same directory. Unset: generated on request, gone with the process.
   */
  filesDir?: string;
  /** A result file could not be saved (it is still served while this process runs). */
  onFilesError?: (error: unknown) => void;
};

export async function startSimulator(input: StartSimulatorOptions = {}): Promise<SimulatorHandle> {
  let options = resolveSimulatorOptions(input, { ...SIMULATOR_DEFAULTS });
  const seed = options.seed ?? randomInt(0, 2 ** 32 - 1);
  const rng = createRng(seed);
  const callbacks = createCallbackSender();
  const faults = createFaultQueue();
  const limiter = createRateLimiter();
  const counters = createCounters();
  let origin = '';
  const { filesDir } = input;
  const saveFiles =
    filesDir === undefined
      ? undefined
      : (task: SimTask) => {
          try {
            saveResult(filesDir, task);
          } catch (error) {
            input.onFilesError?.(error);
          }
        };
  const store = createTaskStore({ rng, options: () => options, origin: () => options.publicUrl ?? origin, callbacks, onSuccess: saveFiles });
  const held = new Map<ServerResponse, NodeJS.Timeout>();

  function respond(res: ServerResponse, endpoint: Endpoint, response: SimResponse): void {
    counters.count(endpoint, String(response.status));
    writeJson(res, response);
  }

  function deliverFault(req: IncomingMessage, res: ServerResponse, endpoint: Endpoint, fault: Fault): void {
    // Injected outcomes are counted under the mode's name: '500', '429', 'timeout', 'malformed', 'drop'.
    counters.count(endpoint, fault.mode);
    switch (fault.mode) {
      case '500':
        return writeJson(res, envelope(500, 'internal server error (injected)'));
      case '429': {
        const after = fault.options.retryAfterSeconds;
        const headers: Record<string, string> = after === undefined ? {} : { 'retry-after': String(after) };
        return writeJson(res, { ...envelope(429, 'too many requests (injected)'), headers });
      }
      case 'malformed': {
        const body = fault.options.body ?? '{"code":200,"message":"success","data":{"task_id":';
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
        return;
      }
      case 'drop':
        req.socket.destroy();
        return;
      case 'timeout': {
        const timer = setTimeout(() => {
          held.delete(res);
          res.destroy();
        }, fault.options.holdMs ?? 60_000);
        held.set(res, timer);
        res.on('close', () => {
          clearTimeout(timer);
          held.delete(res);
        });
        return;
      }
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    const endpoint = endpointOf(url.pathname);
    const method = req.method ?? 'GET';
    if (endpoint === 'other') {
      // Drain so keep-alive connections stay usable after an error answer.
      req.resume();
      return respond(res, endpoint, envelope(404, `no such endpoint: ${url.pathname}`));
    }
    if (!allowedMethods(endpoint).includes(method)) {
      req.resume();
      return respond(res, endpoint, envelope(405, `method ${method} not allowed on ${url.pathname}`));
    }
    if (endpoint === 'files') {
      req.resume();
      counters.count(endpoint, String(await serveFile(store, url.pathname, method, res, filesDir)));
      return;
    }
    if (endpoint === 'gallery' || endpoint === 'index') {
      req.resume();
      return respond(res, endpoint, endpoint === 'gallery' ? handleGallery(store, url.searchParams) : handleIndex(options));
    }
    const body = await readBody(req);
    if (!body.ok) {
      if (body.reason === 'aborted') return counters.count(endpoint, 'aborted');
      return respond(res, endpoint, envelope(413, 'request body too large'));
    }
    const api = endpoint === 'generate' ? 'generate' : 'status';
    const fault = faults.take(api);
    if (fault && !fault.options.commit) return deliverFault(req, res, endpoint, fault);

    const auth = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    const key = auth?.[1]?.trim();
    if (key !== options.apiKey) return respond(res, endpoint, envelope(401, 'Unauthorized: missing or invalid API key'));
    const waitSeconds = limiter.check(key, options.rateLimit);
    if (waitSeconds !== undefined) {
      return respond(res, endpoint, { ...envelope(429, 'Too Many Requests'), headers: { 'retry-after': String(waitSeconds) } });
    }
    if (options.errorRate > 0 && rng.next() < options.errorRate) {
      return respond(res, endpoint, envelope(500, 'internal server error'));
    }
    const result =
      endpoint === 'generate' ? handleGenerate(store, body.text) : handleStatus(store, method, url.searchParams, body.text);
    if (fault) return deliverFault(req, res, endpoint, fault);
    respond(res, endpoint, result);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // Bad input must never take the simulator down: answer 500 and carry on.
      counters.count('other', 'crash');
      if (!res.headersSent && !res.destroyed) writeJson(res, envelope(500, `simulator error: ${String(err)}`));
      else res.destroy();
    });
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(input.port ?? options.port ?? 0, input.host ?? options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const rawHost = input.host ?? options.host;
  const host = rawHost === '0.0.0.0' || rawHost === '::' ? '127.0.0.1' : rawHost.includes(':') ? `[${rawHost}]` : rawHost;
  origin = `http://${host}:${address.port}`;
  let stopped: Promise<void> | undefined;

  return {
    url: `${origin}/api`,
    // Read when asked: configure({ publicUrl }) moves the result URLs (the gateway does, once it listens).
    get origin() {
      return options.publicUrl ?? origin;
    },
    port: address.port,
    get apiKey() {
      return options.apiKey;
    },
    seed,
    options: () => options,
    configure(partial) {
      // Fixed at start: the socket's address, and the seed of the one random stream.
      const { port: _port, host: _host, seed: _seed, ...rest } = partial;
      options = resolveSimulatorOptions(rest, options);
      if (rest.credits !== undefined) store.setBalance(rest.credits);
    },
    failNext: (n, mode, opts) => faults.add(n, mode, opts),
    clearFaults: () => faults.clear(),
    counters: () => counters.snapshot(store, callbacks.counters()),
    resetCounters: () => counters.reset(),
    credits: () => store.account().balance,
    setCredits: (n) => store.setBalance(n),
    task: (id) => {
      const t = store.get(id);
      return t === undefined ? undefined : structuredClone(t);
    },
    tasks: () => store.all().map((t) => structuredClone(t)),
    completeNow: (id, outcome) => store.completeNow(id, outcome),
    callbacksIdle: () => callbacks.idle(),
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        store.stop();
        callbacks.stop();
        faults.clear();
        for (const [res, timer] of held) {
          clearTimeout(timer);
          res.destroy();
        }
        held.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}
