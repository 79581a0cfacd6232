// Finding 3 of the hardening issue: 5,000 SSE subscriptions from one key were
// all accepted; the caps existed only on WebSocket, per process. Now a
// tenant's live connections and subscriptions are counted together over
// WebSocket and SSE, and across gateway processes (src/limits/live-slots.ts).
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import WebSocket from 'ws';
import type { Gateway } from '../../src/app.ts';
import { LiveSlots } from '../../src/limits/live-slots.ts';
import { createLogger } from '../../src/logger.ts';
import { startGatewayOn, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { rowId } from '../helpers/graphql.ts';

const SUBSCRIPTION = 'subscription { balanceChanged { available } }';

interface SseStream {
  status: number;
  retryAfter: string | null;
  /** The refusal's body, when refused. */
  refusal: string;
  close(): void;
}

/** Opens an SSE subscription and keeps it open (until close()). */
async function openSse(url: string, key: string): Promise<SseStream> {
  const controller = new AbortController();
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: SUBSCRIPTION }),
    signal: controller.signal,
  });
  const refusal = res.status === 200 ? '' : await res.text();
  return { status: res.status, retryAfter: res.headers.get('retry-after'), refusal, close: () => controller.abort() };
}

interface Socket {
  client: Client;
  /** Acknowledged (true), or closed first (its close code). */
  opened: Promise<true | number>;
  close(): Promise<void>;
}

function openWs(url: string, key: string): Socket {
  let settle: (value: true | number) => void = () => {};
  const opened = new Promise<true | number>((resolve) => (settle = resolve));
  const client = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${key}` },
    on: { connected: () => settle(true), closed: (event) => settle((event as { code: number }).code) },
    onNonLazyError: () => {},
  });
  return { client, opened, close: () => client.dispose() as Promise<void> };
}

/**
 * Starts a subscription on a socket; resolves with the errors it is refused
 * with (a result with errors, then complete, as graphql-ws reports a
 * subscription that could not start), or 'running' once the server holds it.
 */
function subscribeWs(socket: Socket, settleMs = 300): Promise<'running' | unknown[]> {
  return new Promise((resolve) => {
    socket.client.subscribe(
      { query: SUBSCRIPTION },
      { next: (result) => result.errors && resolve([...result.errors]), error: (e) => resolve(e as unknown[]), complete: () => {} },
    );
    setTimeout(() => resolve('running'), settleMs);
  });
}

/** Waits until `probe` holds (slots are given back as sockets and streams close). */
async function eventually(probe: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const CAPS = { LIVE_MAX_CONNECTIONS_PER_TENANT: '3', LIVE_MAX_SUBSCRIPTIONS_PER_TENANT: '4', WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '10' };

let gw: TestGateway;
let other: Gateway;
beforeAll(async () => {
  gw = await startTestGateway(CAPS);
  // A second process on the same database, as behind a load balancer.
  other = await startGatewayOn(gw.databaseUrl, { url: gw.simulator.url, apiKey: gw.simulator.apiKey }, CAPS);
});
afterAll(async () => {
  await other?.close();
  await gw?.stop();
});

describe('live connections per tenant: WebSocket and SSE together', () => {
  it('the connection over the cap is refused on either transport, and a closed one frees its slot', async () => {
    const { key } = await gw.createTenant('conn cap', 10);
    const a = openWs(gw.graphqlUrl, key);
    const b = openWs(gw.graphqlUrl, key);
    expect([await a.opened, await b.opened]).toEqual([true, true]);
    const sse = await openSse(gw.graphqlUrl, key);
    expect(sse.status).toBe(200);

    const refusedSse = await openSse(gw.graphqlUrl, key);
    expect(refusedSse.status).toBe(429);
    expect(refusedSse.retryAfter).toMatch(/^\d+$/);
    expect(refusedSse.refusal).toContain('"code":"RATE_LIMITED"');
    expect(refusedSse.refusal).toContain('Too many live connections for this tenant (max 3)');
    expect(await openWs(gw.graphqlUrl, key).opened).toBe(4429);

    await a.close();
    sse.close();
    // Both slots come back: one WebSocket and one SSE stream fit again.
    await eventually(async () => {
      const retry = await openSse(gw.graphqlUrl, key);
      retry.close();
      return retry.status === 200;
    });
    const c = openWs(gw.graphqlUrl, key);
    expect(await c.opened).toBe(true);
    await Promise.all([b.close(), c.close()]);
  });
});

describe('live subscriptions per tenant: WebSocket and SSE together', () => {
  it('the subscription over the cap is refused, RATE_LIMITED on a socket and 429 on SSE', async () => {
    const { key } = await gw.createTenant('sub cap', 10);
    const socket = openWs(gw.graphqlUrl, key);
    expect(await socket.opened).toBe(true);
    expect(await subscribeWs(socket)).toBe('running');
    expect(await subscribeWs(socket)).toBe('running');
    expect(await subscribeWs(socket)).toBe('running');
    const sse = await openSse(gw.graphqlUrl, key);
    expect(sse.status).toBe(200);

    const refused = await subscribeWs(socket, 3000);
    expect(refused).toMatchObject([{ extensions: { code: 'RATE_LIMITED' }, message: 'Too many live subscriptions for this tenant (max 4)' }]);
    const refusedSse = await openSse(gw.graphqlUrl, key);
    expect(refusedSse.status).toBe(429);
    expect(refusedSse.refusal).toContain('Too many live subscriptions for this tenant (max 4)');

    sse.close();
    await eventually(async () => (await subscribeWs(socket)) === 'running');
    await socket.close();
  });
});

describe('across gateway processes', () => {
  it('connections and subscriptions on two processes count against one cap', async () => {
    const { key } = await gw.createTenant('two processes', 10);
    const onA = [openWs(gw.graphqlUrl, key), openWs(gw.graphqlUrl, key)];
    expect(await Promise.all(onA.map((s) => s.opened))).toEqual([true, true]);
    const onB = await openSse(other.graphqlUrl, key);
    expect(onB.status).toBe(200);
    // Three connections in all: neither process takes a fourth.
    expect(await openWs(other.graphqlUrl, key).opened).toBe(4429);
    expect((await openSse(gw.graphqlUrl, key)).status).toBe(429);
    onB.close();
    await eventually(async () => (await openWs(other.graphqlUrl, key).opened) === true);
    await Promise.all(onA.map((s) => s.close()));
  });
});

describe('a process that dies', () => {
  it('stops counting once its lease expires, and one that closes gives its slots back at once', async () => {
    const logger = createLogger('silent');
    const { id } = await gw.createTenant('dies', 0);
    const tenantId = rowId(id);
    const shared = new pg.Pool({ connectionString: gw.databaseUrl, max: 4 });
    const caps = { connection: 2, subscription: 2 };
    const dying = new LiveSlots({ pool: shared, logger, caps, ttlMs: 600 });
    const survivor = new LiveSlots({ pool: shared, logger, caps, ttlMs: 600 });
    try {
      expect(await dying.acquire(tenantId, 'connection')).toBe(true);
      expect(await dying.acquire(tenantId, 'connection')).toBe(true);
      expect(await survivor.acquire(tenantId, 'connection')).toBe(false);
      // `dying` never beats again (killed); its rows expire after 600 ms.
      await eventually(() => survivor.acquire(tenantId, 'connection'), 5000);

      const closing = new LiveSlots({ pool: shared, logger, caps, ttlMs: 60_000 });
      expect(await closing.acquire(tenantId, 'subscription')).toBe(true);
      expect(await closing.acquire(tenantId, 'subscription')).toBe(true);
      expect(await survivor.acquire(tenantId, 'subscription')).toBe(false);
      await closing.close();
      expect(await survivor.acquire(tenantId, 'subscription')).toBe(true);
    } finally {
      await survivor.close();
      await shared.end();
    }
  });
});
