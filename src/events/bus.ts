import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { createPubSub, type PubSub } from 'graphql-yoga';
import { Redis } from 'ioredis';
import type { Task } from '../generated/prisma/client.ts';
import type { Logger } from '../logger.ts';
import { snapshotTask, type TaskSnapshot } from './task-snapshot.ts';

// Status changes, published after they commit. Payloads are small and
// JSON-safe so they cross Redis unchanged; subscribers load current state
// from the database, so a payload never has to carry the whole task.

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
  /** Every change of one task, by task id. */
  task: [taskId: string, payload: TaskEvent];
  /** Every change of any task of a tenant, by tenant id. */
  tenantTasks: [tenantId: string, payload: TaskEvent];
  /** After every ledger entry of a tenant, by tenant id. */
  balance: [tenantId: string, payload: BalanceEvent];
  /** An API key was revoked: open sockets using it close. */
  keyRevoked: [payload: { keyId: string }];
};

export interface EventBus {
  pubsub: PubSub<GatewayEvents>;
  /** Publishes a task's new state; call after the change has committed. */
  taskChanged(task: Task): void;
  /** Tells every process that an API key was revoked. */
  keyRevoked(keyId: string): void;
  balanceChanged(tenantId: string): void;
  close(): Promise<void>;
}

/**
 * In-process pub/sub, or Redis-backed when REDIS_URL is set so that several
 * gateway processes serve one set of subscribers.
 */
export function createEventBus(options: { redisUrl: string | null; logger: Logger }): EventBus {
  let closeRedis = async () => {};
  let pubsub: PubSub<GatewayEvents>;
  if (options.redisUrl) {
    const publishClient = new Redis(options.redisUrl, { lazyConnect: false, maxRetriesPerRequest: null });
    const subscribeClient = new Redis(options.redisUrl, { lazyConnect: false, maxRetriesPerRequest: null });
    for (const client of [publishClient, subscribeClient]) {
      client.on('error', (error: Error) => options.logger.error({ err: error }, 'redis error'));
    }
    pubsub = createPubSub<GatewayEvents>({
      eventTarget: createRedisEventTarget({ publishClient, subscribeClient }),
    });
    closeRedis = async () => {
      await Promise.allSettled([publishClient.quit(), subscribeClient.quit()]);
    };
  } else {
    pubsub = createPubSub<GatewayEvents>();
  }
  return {
    pubsub,
    taskChanged(task) {
      const event: TaskEvent = { taskId: task.id, tenantId: task.tenantId, task: snapshotTask(task) };
      pubsub.publish('task', event.taskId, event);
      pubsub.publish('tenantTasks', event.tenantId, event);
    },
    balanceChanged(tenantId) {
      pubsub.publish('balance', tenantId, { tenantId });
    },
    keyRevoked(keyId) {
      pubsub.publish('keyRevoked', { keyId });
    },
    close: () => closeRedis(),
  };
}
