import type { UpstreamClient } from '../upstream/client.ts';
import { isUpstreamError } from '../upstream/errors.ts';
import type { GatewayMetrics } from './registry.ts';

/** The upstream client, with each call counted by endpoint and status and timed (retries included). */
export function instrumentUpstream(client: UpstreamClient, metrics: GatewayMetrics): UpstreamClient {
  async function timed<T>(endpoint: 'generate' | 'status', call: () => Promise<T>): Promise<T> {
    const stop = metrics.upstreamSeconds.startTimer({ endpoint });
    try {
      const result = await call();
      metrics.upstreamRequests.inc({ endpoint, status: '200' });
      return result;
    } catch (error) {
      // An HTTP status when upstream answered; otherwise the failure's kind (timeouts, resets, unreadable bodies).
      const status = isUpstreamError(error) ? String(error.httpStatus ?? error.kind) : 'error';
      metrics.upstreamRequests.inc({ endpoint, status });
      throw error;
    } finally {
      stop();
    }
  }
  return {
    generate: (model, input, options) => timed('generate', () => client.generate(model, input, options)),
    status: (taskId) => timed('status', () => client.status(taskId)),
    load: () => client.load(),
    close: () => client.close(),
  };
}
