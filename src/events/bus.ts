import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { Redis } from 'ioredis';
import type { Task } from '../generated/prisma/client.ts';
import type { Logger } from '../logger.ts';
import { snapshotTask, type TaskSnapshot } from './task-snapshot.ts';

// Changes, published after they commit, to every gateway process: in-process,
// or through Redis when REDIS_URL is set. Each process listens once per kind
// (src/events/live.ts routes events to its subscribers), so Redis carries one
// channel per kind, whatever the number of subscriptions.

export interface TaskEvent {
  taskId: string;
  tenantId: string;
  /** The task as committed, so subscribers see every status in order without a read. */
  task: TaskSnapshot;
}

export interface BalanceEvent {
  tenantId: string;
}

export type GatewayEvents = {
  /** A task changed (any task, any tenant). */
  taskChanged: TaskEvent;
  /** A ledger entry of this tenant was written. */
  balanceChanged: BalanceEvent;
  /** An API key was revoked: open sockets using it close. */
  keyRevoked: { keyId: string };
};

export type EventKind = keyof GatewayEvents;

export interface EventBus {
  /** Publishes a task's new state; call after the change has committed. */
  taskChanged(task: Task): void;
  balanceChanged(tenantId: string): void;
  /** Tells every process that an API key was revoked. */
  keyRevoked(keyId: string): void;
  /**
   * Calls `listener` with every event of this kind, published by any process,
   * in publication order. Returns a function that stops it.
   */
  on<K extends EventKind>(kind: K, listener: (event: GatewayEvents[K]) => void): () => void;
  close(): Promise<void>;
}

/** Redis channels are prefixed, so that other users of one Redis do not collide. */
const CHANNEL_PREFIX = 'grok-gateway:';

/** The part of EventTarget used here; the Redis event target implements it too. */
interface Target {
  addEventListener(type: string, listener: (event: Event) => void): void;
  removeEventListener(type: string, listener: (event: Event) => void): void;
  dispatchEvent(event: Event): boolean;
}

export function createEventBus(options: { redisUrl: string | null; logger: Logger }): EventBus {
  let closeRedis = async () => {};
  let target: Target;
  if (options.redisUrl) {
    const publishClient = new Redis(options.redisUrl, { lazyConnect: false, maxRetriesPerRequest: null });
    const subscribeClient = new Redis(options.redisUrl, { lazyConnect: false, maxRetriesPerRequest: null });
    for (const client of [publishClient, subscribeClient]) {
      client.on('error', (error: Error) => options.logger.error({ err: error }, 'redis error'));
    }
    target = createRedisEventTarget<CustomEvent>({ publishClient, subscribeClient });
    closeRedis = async () => {
      await Promise.allSettled([publishClient.quit(), subscribeClient.quit()]);
    };
  } else {
    target = new EventTarget();
  }

  function publish<K extends EventKind>(kind: K, event: GatewayEvents[K]): void {
    target.dispatchEvent(new CustomEvent(CHANNEL_PREFIX + kind, { detail: event }));
  }

  return {
    taskChanged(task) {
      publish('taskChanged', { taskId: task.id, tenantId: task.tenantId, task: snapshotTask(task) });
    },
    balanceChanged(tenantId) {
      publish('balanceChanged', { tenantId });
    },
    keyRevoked(keyId) {
      publish('keyRevoked', { keyId });
    },
    on(kind, listener) {
      const type = CHANNEL_PREFIX + kind;
      const handler = (event: Event) => {
        // A listener's failure is its own: it must not stop the others, nor
        // surface as an uncaught exception (EventTarget) or a Redis error.
        try {
          listener((event as CustomEvent<GatewayEvents[typeof kind]>).detail);
        } catch (error) {
          options.logger.error({ err: error, kind }, 'event listener failed');
        }
      };
      target.addEventListener(type, handler);
      return () => target.removeEventListener(type, handler);
    },
    close: () => closeRedis(),
  };
}
