// Live connections and subscriptions per tenant, counted across every
// gateway process and both transports (WebSocket and SSE). A count of things
// that are open, not of requests in a window, so rate-limiter-flexible does
// not fit: each process leases slots from the live_slot table (one row per
// tenant, kind and process) and hands them out from memory.
//
// A process takes a block of slots at a time, under a per-tenant advisory
// lock, only as many as the cap leaves after every other process's live
// rows; slots it holds and does not use go back at the next heartbeat. Rows
// carry an expiry the heartbeat renews, so a process that dies stops
// counting after LEASE_TTL_MS. Should the database be unreachable, a process
// admits up to the cap on its own count alone.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from '../logger.ts';

export type SlotKind = 'connection' | 'subscription';

export interface LiveSlotsOptions {
  pool: pg.Pool;
  logger: Logger;
  caps: Record<SlotKind, number>;
  /** How long a process's rows count without a heartbeat. Default 30 s. */
  ttlMs?: number;
}

interface Slot {
  tenantId: string;
  kind: SlotKind;
  used: number;
  /** Slots this process holds in the table (>= used, but while the database is away). */
  leased: number;
  /** Lease changes of one slot run one at a time. */
  busy: Promise<unknown> | null;
}

export class LiveSlots {
  /** This process, in the table. */
  readonly processId = randomUUID();
  private readonly slots = new Map<string, Slot>();
  private readonly ttlMs: number;
  private heartbeatTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: LiveSlotsOptions) {
    this.ttlMs = options.ttlMs ?? 30_000;
  }

  cap(kind: SlotKind): number {
    return this.options.caps[kind];
  }

  /** Slots of `kind` this process's connections and subscriptions hold now, every tenant together (metrics). */
  inUse(kind: SlotKind): number {
    let used = 0;
    for (const [key, slot] of this.slots) if (key.startsWith(`${kind}:`)) used += slot.used;
    return used;
  }

  /** Takes one slot of `kind` for the tenant; false when the tenant is at its cap. */
  async acquire(tenantId: string, kind: SlotKind): Promise<boolean> {
    const slot = this.slotOf(tenantId, kind);
    if (slot.used < slot.leased) {
      slot.used += 1;
      return true;
    }
    return this.serially(slot, async () => {
      if (slot.used < slot.leased) {
        slot.used += 1;
        return true;
      }
      const cap = this.cap(kind);
      const block = Math.max(1, Math.floor(cap / 20));
      try {
        const leased = await this.lease(slot, slot.used + 1, slot.used + block);
        if (leased === null) return false;
        slot.leased = leased;
      } catch (error) {
        this.options.logger.warn({ err: error, tenantId, kind }, 'live slots: database unreachable; counting this process alone');
        if (slot.used >= cap) return false;
      }
      slot.used += 1;
      return true;
    });
  }

  release(tenantId: string, kind: SlotKind): void {
    const slot = this.slots.get(`${kind}:${tenantId}`);
    if (!slot || slot.used === 0) return;
    slot.used -= 1;
  }

  /** Renews this process's rows and gives back what it holds and does not use. */
  start(): void {
    if (this.heartbeatTimer) return;
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), Math.max(100, Math.floor(this.ttlMs / 3))).unref();
  }

  async close(): Promise<void> {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    this.slots.clear();
    try {
      await this.options.pool.query('DELETE FROM live_slot WHERE process_id = $1', [this.processId]);
    } catch (error) {
      this.options.logger.warn({ err: error }, 'live slots: could not release on close; they expire on their own');
    }
  }

  /** One round of the heartbeat (exported for tests): every slot's lease shrunk to its use, rows renewed. */
  async heartbeat(): Promise<void> {
    // The slots in this round are busy until it is written, so no lease of
    // theirs can land between this count and its write.
    let finish!: () => void;
    const round = new Promise<void>((resolve) => (finish = resolve));
    const included: Slot[] = [];
    for (const [key, slot] of this.slots) {
      if (slot.busy) continue;
      if (slot.used === 0 && slot.leased === 0) {
        // Its row went back in an earlier round.
        this.slots.delete(key);
        continue;
      }
      slot.leased = Math.min(slot.leased, slot.used);
      slot.busy = round;
      included.push(slot);
    }
    try {
      await this.options.pool.query(
        `INSERT INTO live_slot (tenant_id, kind, process_id, slots, expires_at)
         SELECT v.tenant_id, v.kind, $1, v.slots, now() + make_interval(secs => $2::float8)
         FROM unnest($3::uuid[], $4::text[], $5::int[]) AS v(tenant_id, kind, slots)
         ON CONFLICT (tenant_id, kind, process_id) DO UPDATE SET slots = EXCLUDED.slots, expires_at = EXCLUDED.expires_at`,
        [this.processId, this.ttlMs / 1000, included.map((s) => s.tenantId), included.map((s) => s.kind), included.map((s) => s.leased)],
      );
      await this.options.pool.query('DELETE FROM live_slot WHERE (process_id = $1 AND slots = 0) OR expires_at < now()', [this.processId]);
    } catch (error) {
      this.options.logger.warn({ err: error }, 'live slots: heartbeat failed');
    } finally {
      for (const slot of included) if (slot.busy === round) slot.busy = null;
      finish();
    }
  }

  private slotOf(tenantId: string, kind: SlotKind): Slot {
    const key = `${kind}:${tenantId}`;
    let slot = this.slots.get(key);
    if (!slot) this.slots.set(key, (slot = { tenantId, kind, used: 0, leased: 0, busy: null }));
    return slot;
  }

  private async serially<T>(slot: Slot, work: () => Promise<T>): Promise<T> {
    while (slot.busy) await slot.busy.catch(() => undefined);
    const run = work();
    slot.busy = run;
    try {
      return await run;
    } finally {
      slot.busy = null;
    }
  }

  /**
   * Grows this process's row to `want` slots, or as many as the cap leaves
   * if at least `need`; the new lease, or null when the cap leaves fewer.
   * The advisory lock orders every process's lease of one tenant's slots,
   * and is taken in a statement of its own so the count after it sees every
   * lease committed before it.
   */
  private async lease(slot: Slot, need: number, want: number): Promise<number | null> {
    const client = await this.options.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query("SELECT pg_advisory_xact_lock(hashtextextended('live_slot:' || $1 || ':' || $2, 0))", [slot.tenantId, slot.kind]);
      const result = await client.query<{ slots: number }>(
        `WITH others AS (
           SELECT COALESCE(sum(slots), 0)::int AS used FROM live_slot
           WHERE tenant_id = $1 AND kind = $2 AND process_id <> $3 AND expires_at > now())
         INSERT INTO live_slot (tenant_id, kind, process_id, slots, expires_at)
         SELECT $1, $2, $3, LEAST($4::int, $5::int - others.used), now() + make_interval(secs => $6::float8)
         FROM others WHERE $5::int - others.used >= $7::int
         ON CONFLICT (tenant_id, kind, process_id) DO UPDATE SET slots = EXCLUDED.slots, expires_at = EXCLUDED.expires_at
         RETURNING slots`,
        [slot.tenantId, slot.kind, this.processId, want, this.cap(slot.kind), this.ttlMs / 1000, need],
      );
      await client.query('COMMIT');
      return result.rows[0]?.slots ?? null;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}
