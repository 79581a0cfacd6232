// The upstream's health as the gateway sees it, and the circuit breaker on
// /generate. When upstream answers 402 (the reseller's upstream credits are
// gone) or 401 (our key is wrong), calling /generate again is pointless: the
// breaker opens and new generations are refused at once, UPSTREAM_UNAVAILABLE,
// before anything is held. Tasks in flight keep being polled (status costs
// nothing). After a backoff (UPSTREAM_PROBE_INITIAL_MS, doubling up to
// UPSTREAM_PROBE_MAX_MS) one generation is let through as the probe: upstream
// has no endpoint that says "credits are back" without spending them, so the
// probe is a real tenant request, held and billed as any other. If it is
// accepted the breaker closes; a 402 or 401 opens it again for longer.
//
// 429 and 5xx (after the client's retries) do not open it: they are reported
// as RATE_LIMITED and DOWN until the next good answer.
//
// Every change of state is announced on the event bus (PostgreSQL NOTIFY, or
// Redis when REDIS_URL is set), so every process opens and closes together;
// the process that saw the change logs it (error when opening, info when
// closing). Breakers (opossum, cockatiel) count failure ratios of calls; this
// one opens on one answer whose meaning is certain, so it is a few lines here.
import { eventsArray, type Store } from '../db/announce.ts';
import { sql } from '../db/sql.ts';
import { UpstreamUnavailableError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { UpstreamAuthError, UpstreamCreditsError, UpstreamRateLimitError, isUpstreamError } from '../upstream/errors.ts';

export type UpstreamState = 'OK' | 'OUT_OF_CREDITS' | 'UNAUTHORIZED' | 'RATE_LIMITED' | 'DOWN';

export interface HealthView {
  state: UpstreamState;
  since: Date;
  lastError: string | null;
  /** While open: when the next generation is let through as the probe. */
  probeAt: Date | null;
}

/** The event every process applies (events/change-events.ts, `upstreamHealth`). */
export interface HealthEvent {
  type: 'upstreamHealth';
  state: UpstreamState;
  since: Date;
  lastError: string | null;
  probeAt: Date | null;
}

const OPEN_STATES: ReadonlySet<UpstreamState> = new Set(['OUT_OF_CREDITS', 'UNAUTHORIZED']);

export interface UpstreamHealthOptions {
  store: Store;
  logger: Logger;
  probeInitialMs: number;
  probeMaxMs: number;
  /** Called on every change of state, this process's or another's (metrics). */
  onChange?: (view: HealthView) => void;
}

export class UpstreamHealth {
  private view: HealthView = { state: 'OK', since: new Date(), lastError: null, probeAt: null };
  private backoffMs: number;

  constructor(private readonly options: UpstreamHealthOptions) {
    this.backoffMs = options.probeInitialMs;
  }

  current(): HealthView {
    return { ...this.view };
  }

  isOpen(): boolean {
    return OPEN_STATES.has(this.view.state);
  }

  /**
   * Before a generation holds anything: refuses it while the breaker is open,
   * except one request per backoff period, the probe.
   */
  admit(): void {
    if (!this.isOpen()) return;
    const now = Date.now();
    if (this.view.probeAt && this.view.probeAt.getTime() <= now) {
      // This request is the probe; the next one waits another backoff.
      this.view = { ...this.view, probeAt: new Date(now + this.backoffMs) };
      return;
    }
    throw new UpstreamUnavailableError(
      this.view.state === 'OUT_OF_CREDITS'
        ? 'Upstream unavailable: the reseller account is out of upstream credits; nothing was held or charged. Retry later'
        : 'Upstream unavailable: the gateway cannot authenticate upstream (misconfigured); nothing was held or charged. Retry later',
    );
  }

  /** Upstream answered as it should (a task accepted, a status read). */
  async succeeded(operation: 'generate' | 'status'): Promise<void> {
    // A status read proves the key works, not that there are credits.
    if (this.view.state === 'OK' || (operation === 'status' && this.view.state === 'OUT_OF_CREDITS')) return;
    if (this.isOpen()) this.options.logger.info({ was: this.view.state }, 'upstream circuit closed: generations resume');
    this.backoffMs = this.options.probeInitialMs;
    await this.change({ state: 'OK', lastError: null, probeAt: null });
  }

  /** An upstream call failed for good (after the client's own retries). */
  async failed(error: unknown): Promise<void> {
    if (!isUpstreamError(error)) return;
    const message = `${error.operation}: ${error.message}`.slice(0, 500);
    if (error instanceof UpstreamCreditsError || error instanceof UpstreamAuthError) {
      const state: UpstreamState = error instanceof UpstreamCreditsError ? 'OUT_OF_CREDITS' : 'UNAUTHORIZED';
      const wasOpen = this.isOpen();
      // Each failed probe doubles the wait before the next.
      if (wasOpen) this.backoffMs = Math.min(this.backoffMs * 2, this.options.probeMaxMs);
      const probeAt = new Date(Date.now() + this.backoffMs);
      if (!wasOpen || this.view.state !== state) {
        this.options.logger.error(
          { state, lastError: message, probeInMs: this.backoffMs },
          state === 'OUT_OF_CREDITS'
            ? 'upstream circuit OPEN: the reseller account is out of upstream credits; top it up'
            : 'upstream circuit OPEN: upstream refuses our API key; check UPSTREAM_API_KEY',
        );
      }
      await this.change({ state, lastError: message, probeAt }, wasOpen && this.view.state === state);
      return;
    }
    if (this.isOpen()) return;
    const state: UpstreamState | null =
      error instanceof UpstreamRateLimitError ? 'RATE_LIMITED' : error.kind === 'unavailable' || error.kind === 'protocol' ? 'DOWN' : null;
    if (state && state !== this.view.state) await this.change({ state, lastError: message, probeAt: null });
  }

  /** A change another process announced (or this one: applying it twice is harmless). */
  apply(event: HealthEvent): void {
    if (event.state === this.view.state && event.since.getTime() <= this.view.since.getTime()) return;
    const opened = OPEN_STATES.has(event.state);
    if (!opened) this.backoffMs = this.options.probeInitialMs;
    this.view = { state: event.state, since: event.since, lastError: event.lastError, probeAt: event.probeAt };
    this.options.onChange?.(this.current());
  }

  /** Sets the state here and announces it to every process. `keepSince`: the same state, a later probe. */
  private async change(next: Omit<HealthView, 'since'>, keepSince = false): Promise<void> {
    const since = keepSince ? this.view.since : new Date();
    this.view = { ...next, since };
    this.options.onChange?.(this.current());
    const event = { type: 'upstreamHealth', ...next, since };
    try {
      const { db, announcer } = this.options.store;
      const rows = await db.$queryRaw<{ announced: unknown }[]>(
        sql`SELECT ${announcer.column(eventsArray([sql`${JSON.stringify(event)}::jsonb`]))} AS announced`,
      );
      announcer.committed(rows[0]?.announced);
    } catch (error) {
      // This process knows; the others learn at their own next answer from upstream.
      this.options.logger.warn({ err: error }, 'could not announce the upstream state to other processes');
    }
  }
}
