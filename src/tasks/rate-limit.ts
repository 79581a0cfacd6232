import { RateLimitedError } from '../errors.ts';
import type { Budget } from '../limits/index.ts';

/**
 * Takes one generation request from the tenant's budget (TENANT_RATE_PER_MINUTE,
 * counted across every gateway process: src/limits/), or refuses with the
 * seconds to wait.
 */
export async function takeGenerationToken(generations: Budget, tenantId: string): Promise<void> {
  const verdict = await generations.take(tenantId);
  if (verdict.ok) return;
  const waitSeconds = Math.max(1, Math.ceil(verdict.retryAfterMs / 1000));
  throw new RateLimitedError(
    `Rate limit: at most ${generations.points} generation requests per minute; retry in ${waitSeconds} s`,
    waitSeconds,
  );
}
