import type { Store } from '../db/announce.ts';
import type { Logger } from '../logger.ts';
import type { GatewayMetrics } from '../metrics/registry.ts';
import type { SsrfPolicy } from '../net/ssrf.ts';
import type { UpstreamClient } from '../upstream/client.ts';
import type { Budget } from '../limits/index.ts';
import type { SingleFlight } from './single-flight.ts';
import type { UpstreamHealth } from './upstream-health.ts';

export interface TaskSettings {
  /** Tasks a tenant may have submitting or in progress at once. */
  maxInFlight: number;
  /** First poll delay for every model; null: the catalogue's per-model delay. */
  pollInitialMs: number | null;
  pollMaxMs: number;
  /** How often the poller looks for due tasks. */
  pollIntervalMs: number;
  pollBatch: number;
  /** How long a poll lease lasts; a dead process's leases expire after this. */
  leaseMs: number;
  /** A task SUBMITTING for longer than this was abandoned by a dead process. */
  submitTimeoutMs: number;
  /** A task IN_PROGRESS for longer than this is ended (see README, "Deadlines"). */
  deadlineMs: number;
}

export interface TaskDeps {
  /** The database, and how the lifecycle's statements announce their changes. */
  store: Store;
  upstream: UpstreamClient;
  /** What upstream's answers said of it; the breaker on /generate. */
  health: UpstreamHealth;
  logger: Logger;
  metrics: GatewayMetrics;
  settings: TaskSettings;
  /** Generation requests per tenant per minute, shared by every process (src/limits/). */
  generations: Budget;
  /** Identical idempotent requests in this process, one at a time. */
  idempotentRequests: SingleFlight;
  ssrfPolicy: SsrfPolicy;
  /** Base of the callback URL handed upstream: PUBLIC_URL. */
  callbackBaseUrl: () => string;
}
