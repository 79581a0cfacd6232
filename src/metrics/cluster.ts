// /metrics with several gateway processes on one port (WEB_CONCURRENCY,
// src/cluster/): a scrape reaches whichever worker the primary handed the
// connection to, and each worker's registry counts only its own work. So a
// worker answers /metrics with the sum over every worker: it asks the
// primary, the primary collects each ready worker's registry as JSON and
// sums them with prom-client's AggregatorRegistry.aggregate, which applies
// each metric's own aggregator (counters and histograms summed, the gauges
// that read shared state taking the max; see registry.ts).
//
// The primary asks only workers that are ready: prom-client's own
// clusterMetrics() asks every connected worker, and one still starting (a
// replacement for a crashed one) would hold every scrape for its 5 s timeout,
// then fail it.
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Logger } from '../logger.ts';

/** Worker → primary: "sum the cluster for me". Primary → worker: the sum (or why not). */
const SCRAPE = 'gateway:metrics:scrape';
const SCRAPED = 'gateway:metrics:scraped';
/** Primary → worker: "your registry, as JSON". Worker → primary: it. */
const COLLECT = 'gateway:metrics:collect';
const COLLECTED = 'gateway:metrics:collected';

/** How long a worker waits for the primary's sum; the primary waits a little less for the workers. */
const SCRAPE_TIMEOUT_MS = 10_000;
const COLLECT_TIMEOUT_MS = 8_000;

interface Message {
  type: string;
  id: number;
  body?: string;
  error?: string;
  metrics?: object[];
}

function isMessage(value: unknown, type: string): value is Message {
  return typeof value === 'object' && value !== null && (value as Message).type === type && typeof (value as Message).id === 'number';
}

/**
 * Primary: answers workers' scrapes with the sum over `workers()` (the ready
 * ones). A worker that exits while it is being asked is left out of that sum.
 */
export function serveClusterMetrics(workers: () => Worker[], logger: Logger): void {
  let nextId = 0;
  /** Collections in flight, by id: each hears its workers' answers and their exits. */
  const collecting = new Map<number, { answered(worker: Worker, metrics: object[] | null): void; exited(worker: Worker): void }>();
  cluster.on('exit', (worker) => {
    for (const collection of collecting.values()) collection.exited(worker);
  });
  cluster.on('message', (from, message: unknown) => {
    if (isMessage(message, COLLECTED)) collecting.get(message.id)?.answered(from, message.metrics ?? null);
    if (!isMessage(message, SCRAPE)) return;
    collect().then(
      (body) => reply(from, { type: SCRAPED, id: message.id, body }),
      (error: unknown) => {
        logger.warn({ err: error }, 'cluster metrics could not be collected');
        reply(from, { type: SCRAPED, id: message.id, error: (error as Error).message });
      },
    );
  });

  function collect(): Promise<string> {
    const id = nextId++;
    const asked = new Set(workers().filter((w) => w.isConnected()));
    const answers: object[][] = [];
    return new Promise<string>((resolve, reject) => {
      let done = false;
      const finish = (error?: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        collecting.delete(id);
        if (error) return reject(error);
        AggregatorRegistry.aggregate(answers).metrics().then(resolve, reject);
      };
      const exited = (worker: Worker) => {
        if (asked.delete(worker) && asked.size === 0) finish();
      };
      const answered = (worker: Worker, metrics: object[] | null) => {
        if (!asked.delete(worker)) return;
        if (metrics === null) return finish(new Error(`worker ${worker.id} could not collect its metrics`));
        answers.push(metrics);
        if (asked.size === 0) finish();
      };
      const timer = setTimeout(() => finish(new Error(`workers did not answer within ${COLLECT_TIMEOUT_MS} ms`)), COLLECT_TIMEOUT_MS);
      collecting.set(id, { answered, exited });
      if (asked.size === 0) return finish();
      for (const worker of [...asked]) {
        worker.send({ type: COLLECT, id }, (error: Error | null) => {
          if (error) exited(worker);
        });
      }
    });
  }
}

/** Sends, unless the worker has gone meanwhile (a send to a closed channel would otherwise be an 'error' event). */
function reply(worker: Worker, message: Message): void {
  if (worker.isConnected()) worker.send(message, () => undefined);
}

/**
 * Worker: gives the primary this process's `registry` when it collects, and
 * returns the function /metrics uses instead of its own registry: the
 * cluster's sum, asked of the primary.
 */
export function joinClusterMetrics(registry: Registry): () => Promise<string> {
  const send = process.send?.bind(process);
  if (!send) throw new Error('joinClusterMetrics: not a cluster worker (no IPC channel)');
  let nextId = 0;
  const pending = new Map<number, { resolve(body: string): void; reject(error: Error): void }>();
  process.on('message', (message: unknown) => {
    if (isMessage(message, COLLECT)) {
      registry.getMetricsAsJSON().then(
        (metrics) => send({ type: COLLECTED, id: message.id, metrics }, undefined, undefined, () => undefined),
        () => send({ type: COLLECTED, id: message.id }, undefined, undefined, () => undefined),
      );
    }
    if (isMessage(message, SCRAPED)) {
      const request = pending.get(message.id);
      pending.delete(message.id);
      if (message.body !== undefined) request?.resolve(message.body);
      else request?.reject(new Error(`cluster metrics: ${message.error ?? 'no answer'}`));
    }
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`cluster metrics: the primary did not answer within ${SCRAPE_TIMEOUT_MS} ms`));
      }, SCRAPE_TIMEOUT_MS);
      pending.set(id, {
        resolve: (body) => (clearTimeout(timer), resolve(body)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
      send({ type: SCRAPE, id }, undefined, undefined, (error: Error | null) => {
        if (!error) return;
        pending.get(id)?.reject(error);
        pending.delete(id);
      });
    });
}
