// One delivery attempt of one outbox row: sign, POST, record the attempt and
// decide what happens next (delivered, retry later, or give up). The loop that
// claims rows and calls this lives in webhook-dispatcher.ts.
import type { Db } from '../db/client.ts';
import type { WebhookDelivery, WebhookDeliveryStatus } from '../generated/prisma/client.ts';
import type { Logger } from '../logger.ts';
import { guardedFetch, type LookupFn, SsrfBlockedError, type SsrfPolicy } from '../net/ssrf.ts';
import { rendition } from '../text.ts';
import { webhookMessageId } from './webhook-outbox.ts';
import { webhookHeaders } from './webhook-signature.ts';

export interface AttemptDeps {
  db: Db;
  logger: Logger;
  policy: SsrfPolicy;
  /** Delays between attempts; after the last one fails, the delivery is FAILED. */
  schedule: readonly number[];
  timeoutMs: number;
  lookup?: LookupFn;
}

interface Outcome {
  delivered: boolean;
  /** No point retrying: the target is refused by the SSRF guard. */
  permanent: boolean;
  responseCode: number | null;
  /** For the attempt row: a network error, or the start of a non-2xx body (a rendition: src/text.ts). */
  attemptError: string | null;
  /** For the delivery row: a one-line summary of what went wrong. */
  lastError: string | null;
}

/** What a receiver or the network said, as the attempt log keeps it: storable, printable, bounded. */
const ATTEMPT_ERROR_CHARS = 1000;

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // undici reports "fetch failed"-style wrappers; the cause says what happened.
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  const code = (error as Error & { code?: unknown }).code;
  return rendition(`${typeof code === 'string' ? `${code} ` : ''}${error.message}${cause}`, ATTEMPT_ERROR_CHARS);
}

async function send(deps: AttemptDeps, row: WebhookDelivery, secret: string): Promise<Outcome> {
  // Serialised once: the signature covers exactly the bytes that are sent.
  const body = JSON.stringify(row.payload);
  const headers = webhookHeaders(secret, webhookMessageId(row.id), body);
  try {
    const res = await guardedFetch(row.url, { method: 'POST', headers, body, timeoutMs: deps.timeoutMs }, deps.policy, deps.lookup);
    const delivered = res.status >= 200 && res.status < 300;
    return {
      delivered,
      permanent: false,
      responseCode: res.status,
      attemptError: delivered || res.bodyText === '' ? null : rendition(res.bodyText, ATTEMPT_ERROR_CHARS),
      lastError: delivered ? null : `receiver responded ${res.status}`,
    };
  } catch (error) {
    const blocked = error instanceof SsrfBlockedError;
    const message = blocked ? `blocked by SSRF guard: ${error.message}` : describe(error);
    return { delivered: false, permanent: blocked, responseCode: null, attemptError: message, lastError: message };
  }
}

function nextStatus(deps: AttemptDeps, outcome: Outcome, attempts: number): { status: WebhookDeliveryStatus; delayMs: number | null } {
  if (outcome.delivered) return { status: 'DELIVERED', delayMs: null };
  const delayMs = deps.schedule[attempts - 1];
  if (outcome.permanent || delayMs === undefined) return { status: 'FAILED', delayMs: null };
  return { status: 'PENDING', delayMs };
}

/** Makes one attempt and records it; returns the delivery's new status. */
export async function attemptDelivery(deps: AttemptDeps, row: WebhookDelivery, secret: string): Promise<WebhookDeliveryStatus> {
  const started = performance.now();
  const outcome = await send(deps, row, secret);
  const durationMs = Math.round(performance.now() - started);
  const attempts = row.attempts + 1;
  const { status, delayMs } = nextStatus(deps, outcome, attempts);

  // The attempt is recorded with the delivery's next step. Should recording
  // fail for what the attempt carries (it cannot, as a rendition, but a
  // delivery stuck PENDING would be re-sent forever), the step is taken
  // without the log line; only a database that cannot be written at all
  // leaves the row to its lease.
  try {
    await deps.db.$transaction([recordAttempt(deps, row, outcome, durationMs), advance(deps, row, outcome, status, delayMs)]);
  } catch (error) {
    deps.logger.error({ err: error, deliveryId: row.id }, 'webhook attempt could not be logged; advancing its schedule without it');
    await advance(deps, row, { ...outcome, lastError: 'attempt could not be logged' }, status, delayMs);
  }

  const log = { deliveryId: row.id, taskId: row.taskId, tenantId: row.tenantId, host: hostOf(row.url), attempt: attempts, responseCode: outcome.responseCode, durationMs };
  if (status === 'DELIVERED') deps.logger.info(log, 'webhook delivered');
  else if (status === 'PENDING') deps.logger.warn({ ...log, error: outcome.lastError, retryInMs: delayMs }, 'webhook attempt failed; will retry');
  else deps.logger.error({ ...log, error: outcome.lastError }, 'webhook delivery failed for good');
  return status;
}

function recordAttempt(deps: AttemptDeps, row: WebhookDelivery, outcome: Outcome, durationMs: number) {
  return deps.db.webhookAttempt.create({
    data: { deliveryId: row.id, responseCode: outcome.responseCode, error: outcome.attemptError, durationMs },
  });
}

/**
 * The delivery's next step. Times come from the database clock, the one the
 * claim query compares with. `status = 'PENDING'` keeps a slow attempt whose
 * lease expired (and whose row another process already finished) from
 * undoing that result.
 */
function advance(deps: AttemptDeps, row: WebhookDelivery, outcome: Outcome, status: WebhookDeliveryStatus, delayMs: number | null) {
  return deps.db.$executeRaw`
      UPDATE webhook_delivery SET
        status = ${status}::"WebhookDeliveryStatus",
        attempts = attempts + 1,
        last_attempt_at = now(),
        last_response_code = ${outcome.responseCode}::int,
        last_error = ${outcome.lastError}::text,
        delivered_at = CASE WHEN ${outcome.delivered}::boolean THEN now() END,
        next_attempt_at = COALESCE(now() + make_interval(secs => ${delayMs === null ? null : delayMs / 1000}::float8), next_attempt_at),
        lease_until = NULL
      WHERE id = ${row.id}::uuid AND status = 'PENDING'`;
}

// Logs name the host only: tenants put tokens in callback query strings.
function hostOf(url: string): string | null {
  try {
    return new URL(url).host;
  } catch {
    return null;
  }
}
