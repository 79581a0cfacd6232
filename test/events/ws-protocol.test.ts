// The graphql-transport-ws protocol as the gateway speaks it (src/server/
// websocket.ts), frame by frame over a plain `ws` socket: the close codes
// graphql-ws uses, pings both ways, queries and mutations, and that ending a
// subscription in any way lets go of everything it held.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { EventResults } from '../../src/server/live-subscribe.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { generateOk } from '../helpers/tasks.ts';
import { collect, wsClient } from '../helpers/ws.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ WS_KEEPALIVE_MS: '300' });
});
afterAll(async () => {
  await gw?.stop();
});

type Frame = { type: string; id?: string; payload?: unknown };

/** A raw socket that records every frame and how it closed. */
async function open(protocol: string | null = 'graphql-transport-ws', options: WebSocket.ClientOptions = {}) {
  const url = gw.graphqlUrl.replace(/^http/, 'ws');
  const socket = protocol ? new WebSocket(url, protocol, options) : new WebSocket(url, options);
  const frames: Frame[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  socket.on('message', (data) => frames.push(JSON.parse(String(data)) as Frame));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const send = (frame: unknown) => socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  const frame = async (match: (f: Frame) => boolean) => {
    await vi.waitFor(() => expect(frames.some(match)).toBe(true), { timeout: 5000 });
    return frames.find(match)!;
  };
  return { socket, frames, closed, send, frame };
}

async function acked(key: string) {
  const c = await open();
  c.send({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } });
  await c.frame((f) => f.type === 'connection_ack');
  return c;
}

describe('graphql-transport-ws close codes', () => {
  it('4406 without the graphql-transport-ws subprotocol', async () => {
    const c = await open(null);
    expect((await c.closed).code).toBe(4406);
  });

  it('4400 for a frame that is not a protocol message', async () => {
    const t = await gw.createTenant('bad-frame', 10);
    const c = await acked(t.key);
    c.send('not json');
    expect(await c.closed).toMatchObject({ code: 4400 });
  });

  it('4401 for subscribe before connection_ack', async () => {
    const c = await open();
    c.send({ id: '1', type: 'subscribe', payload: { query: '{ __typename }' } });
    expect((await c.closed).code).toBe(4401);
  });

  it('4429 for a second connection_init, 4409 for a subscription id already running', async () => {
    const t = await gw.createTenant('dup', 10);
    const first = await acked(t.key);
    first.send({ type: 'connection_init', payload: { authorization: `Bearer ${t.key}` } });
    expect((await first.closed).code).toBe(4429);

    const second = await acked(t.key);
    const sub = { id: 'same', type: 'subscribe', payload: { query: 'subscription { tasksUpdated { id } }' } };
    second.send(sub);
    second.send(sub);
    expect(await second.closed).toMatchObject({ code: 4409, reason: 'Subscriber for same already exists' });
  });

  it('4500, not 4403, when the key cannot be checked (database down): clients retry that', async () => {
    const t = await gw.createTenant('outage', 10); // its key is not in the authenticator's cache yet
    await gw.deps.db.$executeRawUnsafe('ALTER TABLE api_key RENAME TO api_key_gone');
    try {
      const c = await open();
      c.send({ type: 'connection_init', payload: { authorization: `Bearer ${t.key}` } });
      expect(await c.closed).toMatchObject({ code: 4500 });
    } finally {
      await gw.deps.db.$executeRawUnsafe('ALTER TABLE api_key_gone RENAME TO api_key');
    }
    const ok = await acked(t.key);
    ok.socket.close();
  });

  it('4408 when connection_init does not come within 3 seconds', async () => {
    const c = await open();
    expect((await c.closed).code).toBe(4408);
  });
});

describe('graphql-transport-ws messages', () => {
  it('answers ping with pong, with its payload', async () => {
    const t = await gw.createTenant('ping', 10);
    const c = await acked(t.key);
    c.send({ type: 'ping', payload: { n: 1 } });
    expect(await c.frame((f) => f.type === 'pong')).toEqual({ type: 'pong', payload: { n: 1 } });
    c.socket.close();
  });

  it('runs queries and mutations: one next, then complete; validation errors as an error message', async () => {
    const t = await gw.createTenant('ops', 40);
    const c = await acked(t.key);
    c.send({ id: 'q', type: 'subscribe', payload: { query: '{ me { balance { available } } }' } });
    expect(await c.frame((f) => f.id === 'q' && f.type === 'next')).toMatchObject({ payload: { data: { me: { balance: { available: 40 } } } } });
    await c.frame((f) => f.id === 'q' && f.type === 'complete');

    c.send({
      id: 'm',
      type: 'subscribe',
      payload: {
        query: 'mutation($p: String!) { textToImage(input: { prompt: $p }) { __typename ... on MutationTextToImageSuccess { data { status } } } }',
        variables: { p: 'over a socket' },
      },
    });
    expect(await c.frame((f) => f.id === 'm' && f.type === 'next')).toMatchObject({
      payload: { data: { textToImage: { __typename: 'MutationTextToImageSuccess', data: { status: 'IN_PROGRESS' } } } },
    });

    c.send({ id: 'bad', type: 'subscribe', payload: { query: '{ noSuchField }' } });
    const error = await c.frame((f) => f.id === 'bad');
    expect(error.type).toBe('error');
    expect(JSON.stringify(error.payload)).toContain('noSuchField');
    c.socket.close();
  });

  it('closes a socket that stops answering pings (WS_KEEPALIVE_MS)', async () => {
    const t = await gw.createTenant('silent', 10);
    const c = await open('graphql-transport-ws', { autoPong: false });
    c.send({ type: 'connection_init', payload: { authorization: `Bearer ${t.key}` } });
    await c.frame((f) => f.type === 'connection_ack');
    // Terminated (no close frame): the client sees 1006.
    expect((await c.closed).code).toBe(1006);

    const alive = await acked(t.key);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(alive.socket.readyState).toBe(WebSocket.OPEN);
    alive.socket.close();
  });
});

describe('an idle subscription', () => {
  it('holds no pending next() on its results, whatever the pipeline wraps them in, and still gets every change', async () => {
    // The pipeline's plugins may wrap a subscription's results (envelop does
    // for any onSubscribeError): the socket still waits for the results
    // themselves to wake it, instead of a next() held open for hours by each
    // of thousands of idle subscriptions (README, "bench:subscriptions").
    const t = await gw.createTenant('idle', 100);
    let pending = 0;
    const next = EventResults.prototype.next;
    const spy = vi.spyOn(EventResults.prototype, 'next').mockImplementation(function (this: EventResults) {
      pending++;
      return next.call(this).finally(() => pending--);
    });
    const client = wsClient(gw.graphqlUrl, t.key);
    try {
      const balance = collect<{ available: number }>(client, 'subscription { balanceChanged { available } }');
      expect(await balance.next(1)).toEqual([{ available: 100 }]);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(pending).toBe(0);
      await generateOk(gw, t.key, 'textToImage', { prompt: 'idle' });
      const [, held] = await balance.next(2);
      expect(held!.available).toBeLessThan(100);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(pending).toBe(0);
      expect(balance.errors).toEqual([]);
      balance.stop();
    } finally {
      spy.mockRestore();
      await client.dispose();
    }
  });
});

describe('nothing held after a subscription ends', () => {
  it('complete from the client, the task ending, and the socket closing each release the feed', async () => {
    const t = await gw.createTenant('release', 100);
    const base = gw.deps.live.size();
    const client = wsClient(gw.graphqlUrl, t.key);
    try {
      const all = collect(client, 'subscription { tasksUpdated { id } }');
      const balance = collect(client, 'subscription { balanceChanged { available } }');
      await vi.waitFor(() => expect(gw.deps.live.size()).toBe(base + 2));
      all.stop(); // `complete` from the client
      await vi.waitFor(() => expect(gw.deps.live.size()).toBe(base + 1));

      const task = await generateOk(gw, t.key, 'textToImage', { prompt: 'ends' });
      const one = collect(client, 'subscription($id: ID!) { taskUpdated(id: $id) { status } }', { id: task.id });
      await one.done; // the task ended: its feed is gone
      expect(gw.deps.live.size()).toBe(base + 1);
      balance.stop();
    } finally {
      await client.dispose();
    }
    const raw = await acked(t.key);
    raw.send({ id: 's', type: 'subscribe', payload: { query: 'subscription { tasksUpdated { id } }' } });
    await vi.waitFor(() => expect(gw.deps.live.size()).toBe(base + 1));
    raw.socket.terminate(); // gone without a word
    await vi.waitFor(() => expect(gw.deps.live.size()).toBe(base));
  });

  it('an id completed and reused while its first subscription was starting runs once', async () => {
    const t = await gw.createTenant('reuse', 10);
    const base = gw.deps.live.size();
    const c = await acked(t.key);
    c.send({ id: 'x', type: 'subscribe', payload: { query: 'subscription { tasksUpdated { id } }' } });
    c.send({ id: 'x', type: 'complete' });
    c.send({ id: 'x', type: 'subscribe', payload: { query: 'subscription { balanceChanged { available } }' } });
    await vi.waitFor(() => expect(gw.deps.live.size()).toBe(base + 1));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(gw.deps.live.size()).toBe(base + 1);
    c.socket.close();
    await vi.waitFor(() => expect(gw.deps.live.size()).toBe(base));
  });

  it('an SSE client that goes away releases its feed', async () => {
    const t = await gw.createTenant('sse-release', 10);
    const base = gw.deps.live.size();
    const abort = new AbortController();
    const res = await fetch(gw.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${t.key}` },
      body: JSON.stringify({ query: 'subscription { tasksUpdated { id } }' }),
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    await vi.waitFor(() => expect(gw.deps.live.size()).toBe(base + 1));
    abort.abort();
    await vi.waitFor(() => expect(gw.deps.live.size()).toBe(base));
  });

  it('subscribers racing the poller each see their task in order, from wherever it was, and leave nothing behind', async () => {
    const t = await gw.createTenant('race', 1000);
    const base = gw.deps.live.size();
    const clients = Array.from({ length: 4 }, () => wsClient(gw.graphqlUrl, t.key));
    try {
      // Each subscription starts while its task is being submitted and followed
      // (the simulator answers in 30-80 ms, the poller polls every 25 ms).
      const runs = await Promise.all(
        Array.from({ length: 40 }, async (_, i) => {
          const task = await generateOk(gw, t.key, 'textToImage', { prompt: `race ${i}` });
          const sub = collect<{ status: string }>(clients[i % 4]!, 'subscription($id: ID!) { taskUpdated(id: $id) { status } }', { id: task.id });
          await sub.done;
          return { errors: sub.errors, statuses: sub.items.map((e) => e.status) };
        }),
      );
      const rank: Record<string, number> = { SUBMITTING: 0, IN_PROGRESS: 1, SUCCESS: 2, FAILED: 2 };
      for (const run of runs) {
        expect(run.errors).toEqual([]);
        expect(run.statuses.at(-1)).toBe('SUCCESS');
        for (let i = 1; i < run.statuses.length; i++) expect(rank[run.statuses[i]!]).toBeGreaterThan(rank[run.statuses[i - 1]!]!);
      }
      expect(gw.deps.live.size()).toBe(base);
    } finally {
      await Promise.all(clients.map((c) => c.dispose()));
    }
  });
});
