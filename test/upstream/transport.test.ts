// The transport's one judgement call: did an attempt that failed leave our
// process? A request that times out while queued behind a busy connection was
// never written, so a generate may be retried; one that was written may not.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SimulatorHandle } from '../../src/simulator/server.ts';
import { createTransport } from '../../src/upstream/transport.ts';
import { clientFor, startTestSimulator } from './helpers.ts';

let sim: SimulatorHandle;

beforeAll(async () => {
  sim = await startTestSimulator();
});
afterAll(async () => {
  await sim.stop();
});

it('reports a timeout in the pool queue as not sent, and one on the wire as sent', async () => {
  const transport = createTransport({ baseUrl: sim.url, apiKey: sim.apiKey, connections: 1 });
  sim.failNext(1, 'timeout', { endpoint: 'status', holdMs: 5_000 });
  const onWire = transport.send('GET', '/status?task_id=x', undefined, 600);
  const queued = transport.send('POST', '/generate', { input: { prompt: 'x' } }, 150);
  expect(await queued).toEqual({ type: 'timeout', sent: false });
  expect(await onWire).toEqual({ type: 'timeout', sent: true });
  // The queued generate was aborted before it was written: nothing was created.
  expect(sim.counters().tasks.created).toBe(0);
  expect(sim.counters().requests.generate).toBeUndefined();
  await transport.close();
});

it('never reports a generate queued behind a hung request as possibly sent', async () => {
  const client = clientFor(sim, { connections: 1, maxConcurrency: 4, timeoutMs: 400 });
  sim.failNext(1, 'timeout', { endpoint: 'status', holdMs: 5_000 });
  const blocked = client.status('x').catch((err: unknown) => err);
  await new Promise((r) => setTimeout(r, 50));
  const result = await client.generate('grok-imagine/text-to-image', { prompt: 'x' });
  expect(result.mayHaveDuplicate).toBe(false);
  expect(sim.counters().tasks.created).toBe(1);
  await blocked;
  await client.close();
});

it('reads a non-JSON body as such, and an absent server as a refused connection never sent', async () => {
  const transport = createTransport({ baseUrl: sim.url, apiKey: sim.apiKey, connections: 2 });
  sim.failNext(1, 'malformed', { endpoint: 'status', body: '<html>oops</html>' });
  expect(await transport.send('GET', '/status?task_id=x', undefined, 1_000)).toMatchObject({ type: 'response', status: 200, jsonOk: false, text: '<html>oops</html>' });
  await transport.close();
  const dead = createTransport({ baseUrl: 'http://127.0.0.1:1/api', apiKey: 'k', connections: 1 });
  expect(await dead.send('GET', '/status?task_id=x', undefined, 1_000)).toMatchObject({ type: 'network', sent: false, code: 'ECONNREFUSED' });
  await dead.close();
});
