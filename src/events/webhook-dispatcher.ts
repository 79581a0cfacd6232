// The worker that empties the webhook outbox. Every gateway process may run
// one: rows are claimed with a lease under FOR UPDATE SKIP LOCKED, so two
// processes never send the same row at once, and a row claimed by a process
// that died is picked up again when its lease runs out.
import type { Db } from '../db/client.ts';
import type { WebhookDeliveryStatus } from '../generated/prisma/client.ts';
import type { Logger } from '../logger.ts';
import type { LookupFn, SsrfPolicy } from '../net/ssrf.ts';
import { attemptDelivery, type AttemptDeps } from './webhook-attempt.ts';
import { webhookSecretFor } from './webhook-secrets.ts';
import { createIntervalWorker } from '../worker.ts';

/**
 * Delays between attempts, after the first immediate one, as Standard
 * Webhooks suggests: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (8 attempts
 * over about 27 hours), then FAILED.
 */
export const DEFAULT_WEBHOOK_SCHEDULE_MS: readonly number[] = [
  5_000, 5 * 60_000, 30 * 60_000, 2 * 3_600_000, 5 * 3_600_000, 10 * 3_600_000, 10 * 3_600_000,
];

export interface WebhookDispatcherDeps {
  db: Db;
  logger: Logger;
  policy: SsrfPolicy;
  schedule?: readonly number[];
  /** Rows claimed (and sent concurrently) per round. Default 20. */
  batchSize?: number;
  /** Poll interval, for rows that became due without a kick (retries, other processes). Default 1000. */
  intervalMs?: number;
  /** Per attempt, redirects included. Default 10000. */
  timeoutMs?: number;
  /** How long a claim lasts; must outlive an attempt. Default max(60 s, 2 × timeoutMs). */
  leaseMs?: number;
  /** DNS for delivery targets; tests inject one. */
  lookup?: LookupFn;
  /** Each attempt's outcome: DELIVERED, PENDING (to be retried) or FAILED (metrics). */
  onAttempt?: (status: WebhookDeliveryStatus) => void;
}

export interface WebhookDispatcher {
  start(): void;
  /** Stops polling and waits for in-flight attempts to be sent and recorded. */
  stop(): Promise<void>;
  /** Resolves once the first round after start() has run (or on stop). */
  ready(): Promise<void>;
  /** Runs a round now, e.g. right after a transaction that enqueued a webhook committed. */
  kick(): void;
  /** Sends everything due now, round after round, until nothing is due (tests, scripts). */
  drain(): Promise<void>;
}

export function createWebhookDispatcher(deps: WebhookDispatcherDeps): WebhookDispatcher {
  const { db, logger } = deps;
  const batchSize = deps.batchSize ?? 20;
  const intervalMs = deps.intervalMs ?? 1_000;
  const timeoutMs = deps.timeoutMs ?? 10_000;
  const leaseMs = deps.leaseMs ?? Math.max(60_000, 2 * timeoutMs);
  const attemptDeps: AttemptDeps = {
    db,
    logger,
    policy: deps.policy,
    schedule: deps.schedule ?? DEFAULT_WEBHOOK_SCHEDULE_MS,
    timeoutMs,
    lookup: deps.lookup,
  };

  async function claim(): Promise<string[]> {
    const rows = await db.$queryRaw<{ id: string }[]>`
      UPDATE webhook_delivery SET lease_until = now() + make_interval(secs => ${leaseMs / 1000}::float8)
      WHERE id IN (
        SELECT id FROM webhook_delivery
        WHERE status = 'PENDING' AND next_attempt_at <= now() AND (lease_until IS NULL OR lease_until < now())
        ORDER BY next_attempt_at
        LIMIT ${batchSize}::int
        FOR UPDATE SKIP LOCKED)
      RETURNING id::text AS id`;
    return rows.map((r) => r.id);
  }

  /** Claims and sends one batch; returns how many rows it claimed. */
  async function round(): Promise<number> {
    const ids = await claim();
    if (ids.length === 0) return 0;
    const rows = await db.webhookDelivery.findMany({ where: { id: { in: ids } } });
    // One secret lookup per tenant per round.
    const secrets = new Map<string, Promise<string>>();
    await Promise.all(
      rows.map(async (row) => {
        try {
          let secret = secrets.get(row.tenantId);
          if (!secret) secrets.set(row.tenantId, (secret = webhookSecretFor(db, row.tenantId)));
          const status = await attemptDelivery(attemptDeps, row, await secret);
          deps.onAttempt?.(status);
        } catch (err) {
          // A database failure: the row keeps its lease and is retried when it expires.
          logger.error({ err, deliveryId: row.id }, 'webhook attempt could not be recorded');
        }
      }),
    );
    return ids.length;
  }

  // Full batches mean a backlog: keep going rather than wait an interval,
  // unless stopping.
  let stopping = false;
  const worker = createIntervalWorker('webhook-dispatcher', intervalMs, logger, async () => {
    while (!stopping && (await round()) === batchSize) {
      /* next batch */
    }
  });

  return {
    ...worker,
    start() {
      stopping = false;
      worker.start();
    },
    stop() {
      stopping = true;
      return worker.stop();
    },
    async drain() {
      while ((await round()) > 0) {
        /* until nothing is due */
      }
    },
  };
}
