// How a statement announces what it changed, so that every gateway process
// hears it (DESIGN.md, "The stack"): the statement's final SELECT carries a
// JSON array of change events. With PostgreSQL (the default) the column
// calls pg_notify: the events are queued in the transaction and delivered to
// every LISTENing process when, and only if, it commits; a process that dies
// after committing loses none. With Redis (REDIS_URL) the column hands the
// events back and `committed()` publishes them once the statement is done.
// The listening side is src/events/bus.ts.
import type { Db } from './client.ts';
import { join, sql, type Sql } from './sql.ts';

/** The NOTIFY channel every gateway process listens on. */
export const EVENTS_CHANNEL = 'gateway_events';

/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more. */
export const MAX_NOTIFY_BYTES = 7900;

export interface Announcer {
  /** A column for the final SELECT that announces `events` (an SQL expression yielding a jsonb array). */
  column(events: Sql): Sql;
  /** Called with that column's value once the statement (and so its transaction) committed. */
  committed(announced: unknown): void;
}

/** Announces through PostgreSQL NOTIFY, inside the transaction. */
export const notifyAnnouncer: Announcer = {
  column: (events) => sql`pg_notify(${EVENTS_CHANNEL}, (${events})::text)::text`,
  committed: () => {},
};

/** Hands the events back for `publish` after commit (the Redis bus). */
export function afterCommitAnnouncer(publish: (payload: string) => void): Announcer {
  return {
    column: (events) => sql`(${events})::text`,
    committed: (announced) => {
      if (typeof announced === 'string' && announced !== '') publish(announced);
    },
  };
}

/** The events of one statement: a jsonb array; null members (nothing to say) are skipped by listeners. */
export function eventsArray(events: readonly Sql[]): Sql {
  return sql`jsonb_build_array(${join(events, ', ')})`;
}

/** What a service that writes needs: the database, and how its statements announce their changes. */
export interface Store {
  db: Db;
  announcer: Announcer;
}
