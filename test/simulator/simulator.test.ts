// The simulator's own behaviour: robustness against bad input, rate limit,
// error rate, determinism, faults, callbacks, counters and a clean stop.
import { createServer } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startSimulator, type SimulatorHandle } from '../../src/simulator/server.ts';
import { raw, startCallbackReceiver, startTestSimulator } from '../upstream/helpers.ts';

let sim: SimulatorHandle;

beforeAll(async () => {
  sim = await startTestSimulator();
});
afterAll(async () => {
  await sim.stop();
});

const generate = (body: unknown, key?: string) => raw(sim, '/generate', { method: 'POST', body: JSON.stringify(body), ...(key ? { key } : {}) });

describe('bad input never crashes it', () => {
  it('answers every malformed request with an envelope and keeps serving', async () => {
    const cases: Array<Promise<{ status: number; json: unknown }>> = [
      raw(sim, '/generate', { method: 'POST', body: '' }),
      raw(sim, '/generate', { method: 'POST', body: 'null' }),
      raw(sim, '/generate', { method: 'POST', body: '"str"' }),
      raw(sim, '/generate', { method: 'POST', body: '{"input":{"prompt":"x"},"model":{"a":1}}' }),
      raw(sim, '/generate', { method: 'POST', body: '{"input":{"image_urls":[null,{}]},"model":"grok-imagine/image-to-video"}' }),
      raw(sim, '/generate', { method: 'POST', body: '\u0000\uffff{{{' }),
      raw(sim, '/generate', { method: 'GET' }),
      raw(sim, '/status', { method: 'POST', body: '[]' }),
      raw(sim, '/status', { method: 'DELETE' }),
      raw(sim, '/status?task_id=%E0%A4%A', {}),
      raw(sim, '/gallery?limit=abc', { key: null }),
      raw(sim, '/nope', {}),
      raw(sim, '/generate', { method: 'POST', body: 'x'.repeat(1_100_000) }),
      raw(sim, '/generate', { method: 'POST', body: '{}', headers: { authorization: 'Basic abc' }, key: null }),
    ];
    const results = await Promise.all(cases);
    for (const r of results) {
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      expect(r.json).toMatchObject({ code: r.status, message: expect.any(String), data: null });
    }
    expect(results.map((r) => r.status)).toEqual([400, 400, 400, 400, 400, 400, 405, 400, 405, 404, 400, 404, 413, 401]);

    // Garbage at the HTTP level gets a 400 from node:http and the server lives on.
    const reply = await new Promise<string>((resolve) => {
      const socket = connect(sim.port, '127.0.0.1', () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
      let text = '';
      socket.on('data', (d) => (text += d.toString()));
      socket.on('close', () => resolve(text));
      socket.on('error', () => resolve(text));
    });
    expect(reply).toMatch(/^HTTP\/1.1 400/);
    expect((await generate({ input: { prompt: 'still alive' } })).status).toBe(200);
    expect(sim.counters().requests.other?.crash).toBeUndefined();
  });
});

describe('rate limit and error rate', () => {
  it('answers 429 with Retry-After beyond the per-key rate', async () => {
    sim.configure({ rateLimit: 5 });
    const results = await Promise.all(Array.from({ length: 12 }, () => raw(sim, '/status?task_id=none')));
    sim.configure({ rateLimit: 0 });
    const limited = results.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(5);
    expect(Number(limited[0]?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited[0]?.json).toMatchObject({ code: 429, data: null });
  });

  it('answers a configured share of requests with 500 and charges nothing for them', async () => {
    sim.configure({ errorRate: 1 });
    const before = sim.credits();
    expect((await generate({ input: { prompt: 'x' } })).status).toBe(500);
    sim.configure({ errorRate: 0 });
    expect(sim.credits()).toBe(before);
  });
});

describe('determinism and timing', () => {
  it('repeats ids, latencies and outcomes for the same seed', async () => {
    const run = async () => {
      const s = await startSimulator({ seed: 99, failureRate: 0.5, latencyMs: { default: '10-20', 'grok-imagine/text-to-video': 30 } });
      const ids: string[] = [];
      for (let i = 0; i < 8; i++) {
        const res = await raw(s, '/generate', { method: 'POST', body: JSON.stringify({ model: i % 2 ? 'grok-imagine/text-to-video' : undefined, input: { prompt: 'x' } }) });
        ids.push((res.json as { data: { task_id: string } }).data.task_id);
      }
      const tasks = ids.map((id) => s.task(id));
      await s.stop();
      return tasks.map((t) => [t?.id, t?.planned, (t?.dueAt ?? 0) - Date.parse(t?.createdAt ?? '')] as const);
    };
    const [a, b] = [await run(), await run()];
    expect(a.map(([id, planned]) => [id, planned])).toEqual(b.map(([id, planned]) => [id, planned]));
    expect(new Set(a.map(([, planned]) => planned)).size).toBe(2);
  });

  it('completes tasks after the configured latency, and a poll past due completes at once', async () => {
    sim.configure({ latencyMs: 40 });
    const res = await generate({ input: { prompt: 'timed' } });
    const id = (res.json as { data: { task_id: string } }).data.task_id;
    expect(sim.task(id)?.status).toBe('IN_PROGRESS');
    await new Promise((r) => setTimeout(r, 120));
    expect((await raw(sim, `/status?task_id=${id}`)).json).toMatchObject({ data: { status: 'SUCCESS' } });
    sim.configure({ latencyMs: '20-60' });
  });
});

describe('callbacks and counters', () => {
  it('retries a failing callback receiver a couple of times, then gives up without blocking', async () => {
    const receiver = await startCallbackReceiver();
    receiver.setStatus(500);
    const before = sim.counters().callbacks;
    const res = await generate({ input: { prompt: 'cb' }, callback_url: receiver.url });
    const id = (res.json as { data: { task_id: string } }).data.task_id;
    sim.completeNow(id);
    expect(sim.task(id)?.status).toBe('SUCCESS');
    await sim.callbacksIdle();
    const after = sim.counters().callbacks;
    expect(after.sent - before.sent).toBe(3);
    expect(after.failed - before.failed).toBe(1);
    await receiver.close();
  });

  it('counts requests by endpoint and status, and can reset them', async () => {
    sim.resetCounters();
    await generate({ input: { prompt: 'x' } });
    await generate({ input: {} });
    await generate({ input: { prompt: 'x' } }, 'bad-key');
    sim.failNext(1, 'drop', { endpoint: 'status' });
    await raw(sim, '/status?task_id=x').catch(() => undefined);
    expect(sim.counters().requests).toEqual({ generate: { '200': 1, '400': 1, '401': 1 }, status: { drop: 1 } });
    expect(sim.counters().totalRequests).toBe(4);
  });
});

describe('stop', () => {
  it('stops at once with tasks pending, requests held open and callbacks in flight: no timer needs to run', async () => {
    // Every timer the simulator starts from here on is fake and never fires
    // (tasks' 60 s latency, the held response's 60 s, each callback attempt's
    // 5 s timeout and its retries): stop() and callbacksIdle() can only
    // resolve by cancelling all of them.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const tick = () => new Promise((resolve) => setImmediate(resolve));
    const s = await startSimulator({ latencyMs: 60_000 });
    // A callback receiver that never answers, so deliveries stay in flight.
    const sink = createServer(() => undefined);
    let callbacksReceived = 0;
    sink.on('request', () => callbacksReceived++);
    try {
      await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
      const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/cb`;
      for (let i = 0; i < 50; i++) {
        const body = JSON.stringify({ input: { prompt: 'x' }, callback_url: i % 2 ? sinkUrl : undefined });
        await raw(s, '/generate', { method: 'POST', body });
      }
      expect(s.completeNow(undefined, 'SUCCESS')).toBe(50);
      for (let i = 0; i < 20; i++) await raw(s, '/generate', { method: 'POST', body: '{"input":{"prompt":"pending"}}' });
      s.failNext(1, 'timeout');
      const hung = raw(s, '/status?task_id=x').catch((err: unknown) => err);
      // The held request has arrived, and every callback is at the receiver, unanswered.
      while (!s.counters().requests.status?.timeout || callbacksReceived < 25) await tick();

      await s.stop();
      await s.callbacksIdle();
      expect(await hung).toBeInstanceOf(Error);
      expect(s.counters().tasks.inProgress).toBe(20);
      // Each callback was cut short: one attempt each, none retried, none delivered.
      expect(s.counters().callbacks).toEqual({ sent: 25, delivered: 0, failed: 25 });
    } finally {
      vi.useRealTimers();
      sink.closeAllConnections();
      await new Promise<void>((resolve) => sink.close(() => resolve()));
    }
  });
});
