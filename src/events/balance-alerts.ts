// balance.low and balance.recovered, to a tenant's webhook endpoint
// (webhook-endpoints.ts), once each time the balance crosses its
// low-balance threshold (setLowBalanceThreshold).
//
// Every process hears every balance event (bus.ts). When one says the
// balance's `low` flipped, the process runs one statement that reads the
// account as it is now (FOR SHARE: the latest committed row, and no money
// statement commits in between), compares it with the tenant's
// `balance_alert` row, flips that row only if it differs, and writes the
// delivery in the same statement. The conditional update is what makes each
// alert go once, however many processes hear the event and race; reading the
// account rather than the event means a late event never flips it back.
//
// Only tenants whose endpoint wants balance events are tracked: the first
// check after an endpoint asks for them sends balance.low if the balance is
// low already. A process that loses its connection forgets what it saw, so
// the next event of each tenant is checked.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { eventsArray, type Store } from '../db/announce.ts';
import { ref, sql, step, withSteps } from '../db/sql.ts';
import type { Logger } from '../logger.ts';
import type { EventBus } from './bus.ts';

/** How many tenants' last-seen `low` a process remembers (the oldest is forgotten first). */
const REMEMBERED_TENANTS = 10_000;

/**
 * Sends balance.low or balance.recovered if the tenant's balance crossed its
 * threshold since the last alert; returns the event sent, or null.
 */
export async function checkBalanceAlert(store: Store, tenantId: string): Promise<'balance.low' | 'balance.recovered' | null> {
  const account = step(
    'acc',
    sql`SELECT a.tenant_id, a.available, a.held, a.low_balance_threshold,
               (a.available < COALESCE(a.low_balance_threshold, 0)) AS low
        FROM account a
        WHERE a.tenant_id = ${tenantId}::uuid AND a.kind = 'TENANT'
          AND EXISTS (SELECT 1 FROM webhook_endpoint e
                      WHERE e.tenant_id = a.tenant_id AND e.events && ARRAY['balance.low', 'balance.recovered'])
        FOR SHARE OF a`,
  );
  // No row yet and not low: nothing to say (a tenant starts "not low").
  const flip = step(
    'flip',
    sql`INSERT INTO balance_alert (tenant_id, low, changed_at)
        SELECT acc.tenant_id, acc.low, now() FROM ${ref(account)} acc
        WHERE acc.low OR EXISTS (SELECT 1 FROM balance_alert b WHERE b.tenant_id = acc.tenant_id)
        ON CONFLICT (tenant_id) DO UPDATE SET low = excluded.low, changed_at = excluded.changed_at
          WHERE balance_alert.low IS DISTINCT FROM excluded.low
        RETURNING tenant_id, low`,
  );
  const timestamp = new Date().toISOString();
  const eventType = sql`CASE WHEN f.low THEN 'balance.low' ELSE 'balance.recovered' END`;
  const outbox = step(
    'outbox',
    sql`INSERT INTO webhook_delivery (id, tenant_id, task_id, url, event_type, payload, status, attempts, next_attempt_at, created_at)
        SELECT gen_random_uuid(), f.tenant_id, NULL, e.url, ${eventType},
               jsonb_build_object('type', ${eventType}, 'timestamp', ${timestamp}::text,
                 'data', jsonb_build_object('tenantId', ${encodeGlobalID('Tenant', tenantId)}::text, 'available', acc.available,
                                            'held', acc.held, 'threshold', acc.low_balance_threshold)),
               'PENDING', 0, now(), now()
        FROM ${ref(flip)} f JOIN ${ref(account)} acc ON acc.tenant_id = f.tenant_id
             JOIN webhook_endpoint e ON e.tenant_id = f.tenant_id
        WHERE (${eventType}) = ANY(e.events)
        RETURNING id`,
  );
  const woken = sql`(SELECT jsonb_build_object('type', 'webhooks') WHERE EXISTS (SELECT 1 FROM ${ref(outbox)}))`;
  const rows = await store.db.$queryRaw<{ low: boolean | null; announced: unknown }[]>(
    withSteps(
      [account, flip, outbox],
      sql`SELECT (SELECT low FROM ${ref(flip)}) AS low, ${store.announcer.column(eventsArray([woken]))} AS announced`,
    ),
  );
  const row = rows[0]!;
  store.announcer.committed(row.announced);
  if (row.low === null) return null;
  return row.low ? 'balance.low' : 'balance.recovered';
}

/**
 * Listens to balance events and checks a tenant whenever its `low` differs
 * from what this process saw last. Checks of one tenant run one at a time;
 * events arriving meanwhile fold into one more check. Returns a stop function.
 */
export function startBalanceAlerts(deps: { bus: EventBus; store: Store; logger: Logger }): () => Promise<void> {
  const lastLow = new Map<string, boolean>();
  const running = new Map<string, Promise<void>>();
  const again = new Set<string>();

  function check(tenantId: string): void {
    if (running.has(tenantId)) {
      again.add(tenantId);
      return;
    }
    const run = checkBalanceAlert(deps.store, tenantId)
      .then((sent) => {
        if (sent) deps.logger.info({ tenantId, event: sent }, 'balance alert queued');
      })
      .catch((error: unknown) => deps.logger.error({ err: error, tenantId }, 'balance alert check failed'))
      .finally(() => {
        running.delete(tenantId);
        if (again.delete(tenantId)) check(tenantId);
      });
    running.set(tenantId, run);
  }

  const stopBalance = deps.bus.on('balance', (event) => {
    if (lastLow.get(event.tenantId) === event.low) return;
    lastLow.delete(event.tenantId);
    lastLow.set(event.tenantId, event.low);
    if (lastLow.size > REMEMBERED_TENANTS) lastLow.delete(lastLow.keys().next().value!);
    check(event.tenantId);
  });
  const stopResync = deps.bus.onResync(() => lastLow.clear());
  // Stopping waits for the checks under way, so none outlives the database.
  return async () => {
    stopBalance();
    stopResync();
    again.clear();
    await Promise.all(running.values());
  };
}
