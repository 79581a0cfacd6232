import { describe, expect, it } from 'vitest';
import { startTestGateway } from '../helpers/gateway.ts';
import { generate } from '../helpers/tasks.ts';

describe('graceful shutdown', () => {
  it('lets an in-flight request finish, then refuses new connections', async () => {
    const gw = await startTestGateway();
    let stopped = false;
    try {
      const t = await gw.createTenant('shutdown', 100);
      // Upstream holds the generate call for 500 ms, so the mutation is in flight when we close.
      gw.simulator.failNext(1, 'timeout', { endpoint: 'generate', holdMs: 500 });
      const inFlight = generate(gw, t.key, 'textToImage', { prompt: 'finish me' });
      await new Promise((r) => setTimeout(r, 150));
      const closing = gw.stop();
      stopped = true;
      const result = await inFlight; // answered, not reset
      expect(result.code).toBe('UPSTREAM_UNAVAILABLE');
      await closing;
      await expect(fetch(`${gw.url}/healthz`)).rejects.toThrow();
    } finally {
      if (!stopped) await gw.stop();
    }
  });
});
