// The client side of bench:subscriptions: N WebSocket clients in one process
// (not the server's), each waiting for one delivery. Two kinds:
//
//   gateway: the graphql-transport-ws protocol (graphql-ws's) written out on
//            `ws`: connection_init with the API key, connection_ack, one
//            subscribe to taskUpdated of its own task. The first `next` (the
//            task's current state) marks it subscribed; the second (SUCCESS)
//            is the delivery. Lighter than graphql-ws's createClient, so that
//            the client process disturbs the measurement less; same frames.
//   raw:     plain `ws`: sends {"i": n} once open; the first message marks
//            it subscribed, the second is the delivery.
//
// Protocol: JSON lines. The first stdin line is the settings; then commands:
// `connect` (after an unmeasured warm-up: `warmed`), `mark`, `report`, `close`.
import WebSocket from 'ws';
import { commands, processMeter, reply, wallNow } from './jsonl.ts';

export interface ClientSettings {
  kind: 'gateway' | 'raw';
  url: string;
  n: number;
  /** Connections opened, subscribed and closed before the measured ones. */
  warm: number;
  /** Connections between `open` requested and subscribed, at most. */
  window: number;
  /** gateway: the API key and the global id of each connection's task. */
  key?: string;
  ids?: string[];
}

const QUERY = 'subscription($id: ID!) { taskUpdated(id: $id) { id status } }';
const input = commands();
const first = await input.next();
if (first.done) process.exit(1);
const settings = first.value as unknown as ClientSettings;
const meter = processMeter();

const subscribedAt = new Array<number>(settings.n).fill(0);
const receivedAt = new Array<number>(settings.n).fill(0);
const sockets: WebSocket[] = [];
const failures = new Map<string, number>();
let received = 0;
/** The raw text of the first two events of one gateway subscription, for the raw run. */
const sample: { ack: string | null; delivery: string | null } = { ack: null, delivery: null };
let onAllReceived: () => void = () => {};

function fail(reason: string): void {
  failures.set(reason, (failures.get(reason) ?? 0) + 1);
}

/**
 * Opens connection `index` (its task in ids; a raw client says -1 when not measured).
 * Resolves once subscribed (first event), or on failure (counted).
 */
function open(index: number, measured: boolean): Promise<WebSocket> {
  return new Promise((resolve) => {
    const gateway = settings.kind === 'gateway';
    const socket = gateway
      ? new WebSocket(settings.url, 'graphql-transport-ws', { perMessageDeflate: false })
      : new WebSocket(settings.url, { perMessageDeflate: false });
    let events = 0;
    let settled = false;
    const done = () => {
      if (!settled) {
        settled = true;
        resolve(socket);
      }
    };
    socket.on('open', () => {
      socket.send(
        gateway
          ? JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${settings.key}` } })
          : JSON.stringify({ i: measured ? index : -1 }),
      );
    });
    socket.on('message', (data) => {
      const now = wallNow();
      const text = String(data);
      let event: string | null = text;
      if (gateway) {
        const message = JSON.parse(text) as { type: string; payload?: { data?: { taskUpdated?: { status?: string } } } };
        if (message.type === 'connection_ack') {
          socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: QUERY, variables: { id: settings.ids![index] } } }));
          return;
        }
        if (message.type === 'ping') {
          socket.send(JSON.stringify({ type: 'pong' }));
          return;
        }
        if (message.type === 'error') fail(`error: ${JSON.stringify(message.payload).slice(0, 200)}`);
        if (message.type !== 'next') return;
        const status = message.payload?.data?.taskUpdated?.status;
        if (status !== (events === 0 ? 'IN_PROGRESS' : 'SUCCESS')) fail(`event ${events + 1} was ${status ?? text.slice(0, 200)}`);
        event = text;
      }
      events++;
      if (events === 1) {
        if (measured) subscribedAt[index] = now;
        if (measured && sample.ack === null) sample.ack = event;
        done();
      } else if (events === 2 && measured) {
        receivedAt[index] = now;
        sample.delivery ??= event;
        if (++received === settings.n) onAllReceived();
      }
    });
    socket.on('error', (error) => {
      if (!settled) fail(`socket error: ${error.message}`);
      done();
    });
    socket.on('close', (code, reason) => {
      if (!settled) fail(`closed ${code} ${String(reason)}`);
      done();
    });
  });
}

/** Opens indices [from, to) with at most `window` handshakes in flight. */
async function openAll(from: number, to: number, measured: boolean): Promise<WebSocket[]> {
  const opened: WebSocket[] = [];
  let next = from;
  await Promise.all(
    Array.from({ length: Math.min(settings.window, to - from) }, async () => {
      while (next < to) opened.push(await open(next++, measured));
    }),
  );
  return opened;
}

// Warm-up: the server's connect and subscribe paths run before its RSS is
// read, so code compiled once is not charged to the measured connections.
const warm = await openAll(0, settings.warm, false);
await Promise.all(
  warm.map(
    (socket) =>
      new Promise<void>((resolve) => {
        if (socket.readyState === WebSocket.CLOSED) return resolve();
        socket.once('close', () => resolve());
        socket.close(1000);
      }),
  ),
);
failures.clear();
reply({ type: 'warmed' });

const delivered = new Promise<void>((resolve) => (onAllReceived = resolve));
const round = (values: number[]) => values.map((t) => Math.round(t * 1000) / 1000);
let reported = false;
function report(): void {
  if (reported) return;
  reported = true;
  reply({ type: 'delivered', receivedAt: round(receivedAt), received, sample, failures: Object.fromEntries(failures), stats: meter.read() });
}

for await (const command of input) {
  if (command.cmd === 'connect') {
    // The next `count` connections (the parent reads the server's RSS in between).
    meter.mark();
    const from = sockets.length;
    const to = Math.min(settings.n, from + Number(command['count']));
    const started = wallNow();
    sockets.push(...(await openAll(from, to, true)));
    const subscribed = subscribedAt.slice(from, to).filter((t) => t > 0);
    reply({
      type: 'subscribed',
      started,
      finished: subscribed.reduce((a, b) => Math.max(a, b), started),
      subscribed: subscribed.length,
      failures: Object.fromEntries(failures),
      stats: meter.read(),
    });
  } else if (command.cmd === 'mark') {
    meter.mark();
    // Answers when every delivery has arrived, or at `report`.
    void delivered.then(() => report());
    reply({ type: 'marked' });
  } else if (command.cmd === 'report') {
    report();
  } else if (command.cmd === 'close') {
    break;
  }
}

for (const socket of sockets) socket.terminate();
process.exit(0);
