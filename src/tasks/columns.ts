import { Prisma } from '../generated/prisma/client.ts';

/**
 * A RETURNING list that yields rows shaped exactly like Prisma's `Task`, so
 * the hot statements hand back the task they wrote without a second query.
 * Keep in step with prisma/schema.prisma (the lifecycle tests compare the two).
 */
export const TASK_RETURNING = Prisma.raw(`
  id, tenant_id AS "tenantId", model::text AS model, status::text AS status, prompt, COALESCE(image_urls, '{}') AS "imageUrls",
  source_task_id AS "sourceTaskId", callback_url AS "callbackUrl", public, idempotency_key AS "idempotencyKey",
  request_hash AS "requestHash", callback_token AS "callbackToken", upstream_task_id AS "upstreamTaskId",
  hold_id AS "holdId", charge_id AS "chargeId", upstream_charge_id AS "upstreamChargeId",
  credits_charged AS "creditsCharged", upstream_credits AS "upstreamCredits", refunded, COALESCE(result_urls, '{}') AS "resultUrls",
  error_message AS "errorMessage", created_at AS "createdAt", updated_at AS "updatedAt",
  submitted_at AS "submittedAt", completed_at AS "completedAt", next_poll_at AS "nextPollAt",
  poll_attempts AS "pollAttempts", lease_until AS "leaseUntil"`);
