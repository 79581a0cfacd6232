// The event bus: how every gateway process hears the changes statements
// announce (db/announce.ts), whichever process made them.
//
// PostgreSQL (the default): statements NOTIFY inside their transaction, so an
// event exists exactly when its change committed, and a process that dies
// right after committing loses none: the server delivers it. Each process
// LISTENs on one connection of the `postgres` client (Postgres.js), which
// reconnects by itself; after a reconnection `onResync` listeners run, since
// events sent while it was away are not replayed.
//
// Redis (REDIS_URL): statements hand their events back and the process
// publishes them after commit, on one channel. NOTIFY serialises the commits
// of notifying transactions on a server-wide lock; past a few thousand
// notifying commits a second, Redis takes that load off PostgreSQL, at the
// price that a process dying between commit and publish loses those events
// (README, "Events").
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { afterCommitAnnouncer, EVENTS_CHANNEL, notifyAnnouncer, type Announcer } from '../db/announce.ts';
import type { Logger } from '../logger.ts';
import { parseAnnouncement, type ChangeEvent } from './change-events.ts';

export type EventType = ChangeEvent['type'];
export type EventOf<T extends EventType> = Extract<ChangeEvent, { type: T }>;

export interface EventBus {
  /** How this process's statements announce their changes. */
  readonly announcer: Announcer;
  /** Calls `listener` with every event of this type, from any process, in commit order. Returns a function that stops it. */
  on<T extends EventType>(type: T, listener: (event: EventOf<T>) => void): () => void;
  /** Called when listening resumed after a lost connection: events in between were missed. */
  onResync(listener: () => void): () => void;
  /** Resolves once this process is listening. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/** Redis channel of the events; prefixed, so that other users of one Redis do not collide. */
export const REDIS_CHANNEL = `grok-gateway:${EVENTS_CHANNEL}`;

export function createEventBus(options: { databaseUrl: string; redisUrl: string | null; logger: Logger }): EventBus {
  const { logger } = options;
  const listeners = new Map<EventType, Set<(event: never) => void>>();
  const resyncs = new Set<() => void>();

  function deliver(payload: string): void {
    const { events, malformed } = parseAnnouncement(payload);
    if (malformed > 0) logger.error({ malformed }, 'malformed change events ignored');
    for (const event of events) {
      for (const listener of listeners.get(event.type) ?? []) {
        // A listener's failure is its own: it must not stop the others.
        try {
          (listener as (e: ChangeEvent) => void)(event);
        } catch (error) {
          logger.error({ err: error, type: event.type }, 'event listener failed');
        }
      }
    }
  }

  function resynced(): void {
    for (const listener of resyncs) {
      try {
        listener();
      } catch (error) {
        logger.error({ err: error }, 'resync listener failed');
      }
    }
  }

  const transport = options.redisUrl ? redisTransport(options.redisUrl, logger, deliver, resynced) : postgresTransport(options.databaseUrl, logger, deliver, resynced);

  return {
    announcer: transport.announcer,
    on(type, listener) {
      let set = listeners.get(type);
      if (!set) listeners.set(type, (set = new Set()));
      set.add(listener as (event: never) => void);
      return () => set.delete(listener as (event: never) => void);
    },
    onResync(listener) {
      resyncs.add(listener);
      return () => resyncs.delete(listener);
    },
    ready: () => transport.ready,
    close: () => transport.close(),
  };
}

interface Transport {
  announcer: Announcer;
  ready: Promise<void>;
  close(): Promise<void>;
}

function postgresTransport(url: string, logger: Logger, deliver: (payload: string) => void, resynced: () => void): Transport {
  const sql = postgres(url, { max: 1, onnotice: () => {}, connection: { application_name: 'gateway-events' } });
  let listens = 0;
  const ready = sql
    .listen(EVENTS_CHANNEL, deliver, () => {
      // Called on the first LISTEN and again after every reconnection.
      if (listens++ > 0) {
        logger.warn('event listener reconnected; resyncing live subscriptions');
        resynced();
      }
    })
    .then(() => undefined);
  ready.catch((error: unknown) => logger.error({ err: error }, 'could not LISTEN for events'));
  return {
    announcer: notifyAnnouncer,
    ready,
    close: () => sql.end({ timeout: 1 }),
  };
}

function redisTransport(url: string, logger: Logger, deliver: (payload: string) => void, resynced: () => void): Transport {
  const publisher = new Redis(url, { maxRetriesPerRequest: null });
  const subscriber = new Redis(url, { maxRetriesPerRequest: null });
  for (const client of [publisher, subscriber]) client.on('error', (error: Error) => logger.error({ err: error }, 'redis error'));
  subscriber.on('message', (channel: string, message: string) => {
    if (channel === REDIS_CHANNEL) deliver(message);
  });
  let subscriptions = 0;
  // ioredis re-subscribes by itself after reconnecting, and says so with 'ready'.
  subscriber.on('ready', () => {
    if (subscriptions > 0) resynced();
  });
  const ready = subscriber.subscribe(REDIS_CHANNEL).then(() => {
    subscriptions++;
  });
  ready.catch((error: unknown) => logger.error({ err: error }, 'could not subscribe to Redis'));
  return {
    announcer: afterCommitAnnouncer((payload) => {
      publisher.publish(REDIS_CHANNEL, payload).catch((error: unknown) => logger.error({ err: error }, 'redis publish failed'));
    }),
    ready,
    async close() {
      await Promise.allSettled([publisher.quit(), subscriber.quit()]);
    },
  };
}
