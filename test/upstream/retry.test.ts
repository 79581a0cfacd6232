// Retry behaviour of the client against injected simulator faults: what is
// retried, what is not, and what each failure says about the task's existence.
import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { SimulatorHandle } from '../../src/simulator/server.ts';
import type { UpstreamClient } from '../../src/upstream/client.ts';
import {
  UpstreamCreditsError,
  UpstreamOutageError,
  UpstreamProtocolError,
  UpstreamRateLimitError,
  mayTaskExistUpstream,
} from '../../src/upstream/errors.ts';
import { clientFor, expectRejection, startTestSimulator } from './helpers.ts';

let sim: SimulatorHandle;
let client: UpstreamClient;
const T2I = 'grok-imagine/text-to-image' as const;

beforeAll(async () => {
  sim = await startTestSimulator();
  // A short attempt timeout so 'timeout' faults cost a fraction of a second.
  client = clientFor(sim, { timeoutMs: 300 });
});
afterAll(async () => {
  await client.close();
  await sim.stop();
});
afterEach(() => {
  vi.restoreAllMocks();
  sim.clearFaults();
  sim.configure({ rateLimit: 0, errorRate: 0 });
});

async function doneTask(): Promise<string> {
  const { taskId } = await client.generate(T2I, { prompt: 'x' });
  sim.completeNow(taskId, 'SUCCESS');
  return taskId;
}

const tasksNow = () => sim.counters().tasks.created;

describe('429', () => {
  it('waits for Retry-After when present', async () => {
    const taskId = await doneTask();
    sim.failNext(1, '429', { endpoint: 'status', retryAfterSeconds: 1 });
    sim.resetCounters();
    // What the client waits for goes through setTimeout: watch what it asks for.
    const timers = vi.spyOn(globalThis, 'setTimeout');
    await expect(client.status(taskId)).resolves.toMatchObject({ status: 'SUCCESS' });
    expect(sim.counters().requests.status).toEqual({ '429': 1, '200': 1 });
    // Between the two attempts it waited Retry-After's second, not its own backoff (FAST_RETRY: at most 40 ms).
    expect(timers).toHaveBeenCalledWith(expect.any(Function), 1000);
  });

  it('backs off exponentially without Retry-After, and a generate is retried (nothing was created)', async () => {
    const before = tasksNow();
    sim.failNext(3, '429', { endpoint: 'generate' });
    const result = await client.generate(T2I, { prompt: 'x' });
    expect(result.attempts).toBe(4);
    expect(result.mayHaveDuplicate).toBe(false);
    expect(tasksNow()).toBe(before + 1);
  });

  it('gives up at once when Retry-After is beyond the deadline', async () => {
    sim.failNext(1, '429', { retryAfterSeconds: 60 });
    sim.resetCounters();
    const timers = vi.spyOn(globalThis, 'setTimeout');
    const err = await expectRejection(client.generate(T2I, { prompt: 'x' }), UpstreamRateLimitError);
    expect(err.retryAfterSeconds).toBe(60);
    expect(mayTaskExistUpstream(err)).toBe(false);
    // One attempt, and no wait for the minute it was told to (the deadline is 5 s).
    expect(err.attempts).toBe(1);
    expect(sim.counters().requests.generate).toEqual({ '429': 1 });
    expect(timers).not.toHaveBeenCalledWith(expect.any(Function), 60_000);
  });

  it('honours the simulator rate limit and gets through', async () => {
    const taskId = await doneTask();
    sim.configure({ rateLimit: 20 });
    const results = await Promise.all(Array.from({ length: 30 }, () => client.status(taskId)));
    expect(results.every((r) => r.status === 'SUCCESS')).toBe(true);
    expect(sim.counters().requests.status?.['429']).toBeGreaterThan(0);
  });
});

describe('500, timeouts, drops, malformed bodies', () => {
  it('rides out a 500 burst, for status and for generate (a 500 created nothing)', async () => {
    const taskId = await doneTask();
    sim.failNext(4, '500', { endpoint: 'status' });
    await expect(client.status(taskId)).resolves.toMatchObject({ status: 'SUCCESS' });
    const before = tasksNow();
    sim.failNext(3, '500', { endpoint: 'generate' });
    await expect(client.generate(T2I, { prompt: 'x' })).resolves.toMatchObject({ attempts: 4 });
    expect(tasksNow()).toBe(before + 1);
  });

  it('gives up after maxAttempts with UpstreamOutageError', async () => {
    sim.failNext(20, '500');
    const err = await expectRejection(client.generate(T2I, { prompt: 'x' }), UpstreamOutageError);
    expect(err).toMatchObject({ reason: 'http', httpStatus: 500, attempts: 6, mayHaveReachedUpstream: false });
  });

  it('retries a status poll after a timeout, a dropped connection and a malformed body', async () => {
    const taskId = await doneTask();
    sim.failNext(1, 'timeout', { endpoint: 'status' });
    sim.failNext(1, 'drop', { endpoint: 'status' });
    sim.failNext(1, 'malformed', { endpoint: 'status' });
    await expect(client.status(taskId)).resolves.toMatchObject({ status: 'SUCCESS' });
    const counts = sim.counters().requests.status ?? {};
    expect([counts.timeout, counts.drop, counts.malformed]).toEqual([1, 1, 1]);
  });

  it('turns a persistently malformed status body into UpstreamProtocolError', async () => {
    const taskId = await doneTask();
    sim.failNext(20, 'malformed', { endpoint: 'status', body: '{"code":200,"data":{"task_id":1}}' });
    const err = await expectRejection(client.status(taskId), UpstreamProtocolError);
    expect(err.attempts).toBe(6);
  });
});

describe('a generate is not resent once it may have reached upstream', () => {
  it.each([
    ['timeout', 'timeout'],
    ['drop', 'network'],
  ] as const)('%s after the request was read: not retried, task may exist', async (mode, reason) => {
    const before = sim.counters();
    sim.failNext(1, mode, { endpoint: 'generate', commit: true });
    const err = await expectRejection(client.generate(T2I, { prompt: 'x' }), UpstreamOutageError);
    expect(err).toMatchObject({ reason, attempts: 1, mayHaveReachedUpstream: true, operation: 'generate' });
    expect(mayTaskExistUpstream(err)).toBe(true);
    // The simulator did create and charge it: the window the gateway must handle.
    expect(tasksNow()).toBe(before.tasks.created + 1);
    expect(sim.counters().creditsCharged).toBe(before.creditsCharged + 5);
  });

  it('a malformed 2xx to a generate is a protocol error that may have created a task', async () => {
    sim.failNext(1, 'malformed', { endpoint: 'generate', commit: true });
    const err = await expectRejection(client.generate(T2I, { prompt: 'x' }), UpstreamProtocolError);
    expect(err).toMatchObject({ attempts: 1, mayHaveReachedUpstream: true });
  });

  it('retryUnsafe resends, and reports the possible duplicate', async () => {
    const before = tasksNow();
    sim.failNext(1, 'drop', { endpoint: 'generate', commit: true });
    const result = await client.generate(T2I, { prompt: 'x' }, { retryUnsafe: true });
    expect(result).toMatchObject({ attempts: 2, mayHaveDuplicate: true });
    expect(tasksNow()).toBe(before + 2);
  });

  it('a later definite failure still says the task may exist when an earlier attempt was uncertain', async () => {
    sim.failNext(1, 'timeout', { endpoint: 'generate' });
    sim.failNext(1, '429', { endpoint: 'generate', retryAfterSeconds: 60 });
    const err = await expectRejection(client.generate(T2I, { prompt: 'x' }, { retryUnsafe: true }), UpstreamRateLimitError);
    expect(mayTaskExistUpstream(err)).toBe(true);
  });

  it('402 is never retried', async () => {
    sim.setCredits(0);
    const before = sim.counters().requests.generate?.['402'] ?? 0;
    await expectRejection(client.generate(T2I, { prompt: 'x' }), UpstreamCreditsError);
    expect(sim.counters().requests.generate?.['402']).toBe(before + 1);
    sim.setCredits(1_000_000);
  });
});

describe('connection failures and the concurrency cap', () => {
  it('retries a refused connection until the deadline; nothing was sent', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    const dead = clientFor(sim, { baseUrl: `http://127.0.0.1:${port}/api`, retry: { baseDelayMs: 5, maxDelayMs: 20, deadlineMs: 200, maxAttempts: 100 } });
    const err = await expectRejection(dead.generate(T2I, { prompt: 'x' }), UpstreamOutageError);
    expect(err.reason).toBe('network');
    expect(err.attempts).toBeGreaterThan(1);
    expect(mayTaskExistUpstream(err)).toBe(false);
    await dead.close();
  });

  it('holds at most maxConcurrency requests in flight and queues the rest', async () => {
    const taskId = await doneTask();
    const capped = clientFor(sim, { maxConcurrency: 2 });
    const calls = Array.from({ length: 10 }, () => capped.status(taskId));
    expect(capped.load()).toEqual({ inFlight: 2, queued: 8 });
    await Promise.all(calls);
    expect(capped.load()).toEqual({ inFlight: 0, queued: 0 });
    await capped.close();
  });
});
