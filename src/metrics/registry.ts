// Prometheus metrics (prom-client), one registry per gateway process, served
// at /metrics (server/http-server.ts). Counters and histograms are this
// process's, as Prometheus expects: sum them across instances. Gauges that
// describe shared state (poller lag, the breaker) are read at scrape time.
// With several processes on one port (WEB_CONCURRENCY), /metrics is the sum
// over the machine's workers (cluster.ts): each metric says how it adds up
// (prom-client's `aggregator`; sum unless said), and the process metrics stay
// per worker, under a `worker` label.
//
// It sits low, beside limits: tasks, events and the server record into it;
// it knows nothing of them. Labels take values from closed sets only (models,
// outcomes, endpoints, HTTP statuses, root field names of the schema), never
// from what a client sends, so a hostile client cannot grow the registry.
import cluster from 'node:cluster';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type TaskOutcome = 'accepted' | 'rejected' | 'succeeded' | 'failed';
export type CreditFlow = 'charged' | 'refunded' | 'upstream_charged' | 'upstream_refunded';
export type DeliveryOutcome = 'delivered' | 'retry' | 'failed';

/** Gauges read when scraped. Each may be async (a database read). */
export interface MetricSources {
  /** Seconds since the oldest task due for a poll became due (0 when none is late). */
  pollerLagSeconds?: () => Promise<number>;
  /** The breaker's state now: one of UpstreamState. */
  upstreamState?: () => string;
  liveConnections?: () => number;
  liveSubscriptions?: () => number;
  /** The database pool: connections in use and requests waiting for one. */
  databasePool?: () => { inUse: number; idle: number; waiting: number };
}

const UPSTREAM_STATES = ['OK', 'OUT_OF_CREDITS', 'UNAUTHORIZED', 'RATE_LIMITED', 'DOWN'] as const;

export class GatewayMetrics {
  readonly registry = new Registry();

  readonly operations = new Counter({
    name: 'gateway_graphql_operations_total',
    help: 'GraphQL operations executed (HTTP, SSE and WebSocket: one pipeline), by type, root field and outcome',
    labelNames: ['type', 'field', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly operationSeconds = new Histogram({
    name: 'gateway_graphql_operation_duration_seconds',
    help: 'Time to execute a query or mutation (subscriptions: to start)',
    labelNames: ['type', 'field'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly tasks = new Counter({
    name: 'gateway_tasks_total',
    help: 'Generation tasks by model and outcome: accepted or rejected by upstream at submission; succeeded or failed at the end',
    labelNames: ['model', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly credits = new Counter({
    name: 'gateway_credits_total',
    help: 'Credits moved by tasks: charged to and refunded to tenants; charged by and refunded by upstream (mirrored)',
    labelNames: ['flow'] as const,
    registers: [this.registry],
  });

  readonly upstreamRequests = new Counter({
    name: 'gateway_upstream_requests_total',
    help: 'Calls of the upstream API (after the client’s retries) by endpoint and HTTP status (or the failure’s kind)',
    labelNames: ['endpoint', 'status'] as const,
    registers: [this.registry],
  });

  readonly upstreamSeconds = new Histogram({
    name: 'gateway_upstream_request_duration_seconds',
    help: 'Time of an upstream call, retries included',
    labelNames: ['endpoint'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly webhookDeliveries = new Counter({
    name: 'gateway_webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome: delivered, retry (failed, another attempt scheduled), failed (gave up)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  /** In a cluster worker: the whole cluster's exposition, from the primary (cluster.ts). */
  #clusterScrape: (() => Promise<string>) | null = null;

  constructor(sources: MetricSources = {}) {
    // A cluster worker's id (node:cluster numbers them from 1; a replacement gets a new one).
    const worker = cluster.isWorker && cluster.worker ? String(cluster.worker.id) : null;
    // Per worker, not summed: a sum of heaps or an average of event loop lags
    // would hide the one worker in trouble.
    collectDefaultMetrics({ register: this.registry, prefix: 'gateway_process_', ...(worker ? { labels: { worker } } : {}) });
    const registers = [this.registry];
    if (worker) this.#describeWorker(worker);
    new Gauge({
      name: 'gateway_poller_lag_seconds',
      help: 'Age of the oldest task due for a status poll (0: none is waiting)',
      // Every process reads the same shared queue: not a sum.
      aggregator: 'max',
      registers,
      async collect() {
        this.set(sources.pollerLagSeconds ? await sources.pollerLagSeconds() : 0);
      },
    });
    new Gauge({
      name: 'gateway_upstream_state',
      help: 'The upstream circuit breaker: 1 for the current state (OUT_OF_CREDITS and UNAUTHORIZED refuse generations)',
      labelNames: ['state'] as const,
      // Each process's view of the breaker, which the bus keeps in step: not a sum.
      aggregator: 'max',
      registers,
      collect() {
        const current = sources.upstreamState?.() ?? 'OK';
        for (const state of UPSTREAM_STATES) this.set({ state }, state === current ? 1 : 0);
      },
    });
    new Gauge({
      name: 'gateway_live_connections',
      help: 'Live connections on this process: WebSocket connections and SSE streams',
      registers,
      collect() {
        this.set(sources.liveConnections?.() ?? 0);
      },
    });
    new Gauge({
      name: 'gateway_live_subscriptions',
      help: 'Running subscriptions on this process, WebSocket and SSE',
      registers,
      collect() {
        this.set(sources.liveSubscriptions?.() ?? 0);
      },
    });
    new Gauge({
      name: 'gateway_database_pool_connections',
      help: 'The database pool: connections in use, idle, and requests waiting for one',
      labelNames: ['state'] as const,
      registers,
      collect() {
        const pool = sources.databasePool?.() ?? { inUse: 0, idle: 0, waiting: 0 };
        this.set({ state: 'in_use' }, pool.inUse);
        this.set({ state: 'idle' }, pool.idle);
        this.set({ state: 'waiting' }, pool.waiting);
      },
    });
  }

  /**
   * What tells the workers of a cluster apart once summed: each one's start
   * time and pid (the process metrics' own start time is left out of a sum),
   * and how many operations each ran, to see how evenly the primary spreads
   * connections.
   */
  #describeWorker(worker: string): void {
    const registers = [this.registry];
    const startedAt = Math.round(Date.now() / 1000 - process.uptime());
    new Gauge({
      name: 'gateway_cluster_worker_start_time_seconds',
      help: 'Start time of each gateway worker process (WEB_CONCURRENCY), since the Unix epoch, by worker id and pid',
      labelNames: ['worker', 'pid'] as const,
      registers,
      collect() {
        this.set({ worker, pid: String(process.pid) }, startedAt);
      },
    });
    const operations = this.operations;
    new Counter({
      name: 'gateway_cluster_worker_operations_total',
      help: 'GraphQL operations run by each gateway worker process (WEB_CONCURRENCY), by worker id',
      labelNames: ['worker'] as const,
      registers,
      async collect() {
        const { values } = await operations.get();
        this.reset();
        this.inc({ worker }, values.reduce((sum, value) => sum + value.value, 0));
      },
    });
  }

  /** In a cluster worker: /metrics answers `scrape()`'s sum over the cluster instead of this process's registry. */
  aggregateWith(clusterScrape: () => Promise<string>): void {
    this.#clusterScrape = clusterScrape;
  }

  /** The exposition text, and its content type. */
  async scrape(): Promise<{ body: string; contentType: string }> {
    const body = this.#clusterScrape ? await this.#clusterScrape() : await this.registry.metrics();
    return { body, contentType: this.registry.contentType };
  }
}
