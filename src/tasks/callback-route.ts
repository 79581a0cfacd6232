import type { IncomingMessage, ServerResponse } from 'node:http';
import { secretsEqual } from '../auth/secrets.ts';
import type { TaskDeps } from './deps.ts';
import { keepEarlyCallback } from './store.ts';

const PATH = /^\/upstream\/callback\/([0-9a-f-]{36})\/([A-Za-z0-9_-]{16,64})$/;

/**
 * POST /upstream/callback/<task id>/<token>: upstream's completion callback.
 * Its body is never trusted (README of the upstream contract): a callback
 * with the task's secret token is only a hint to fetch /status now.
 */
export function createCallbackRoute(deps: TaskDeps, pollNow: (taskId: string) => Promise<void>) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const match = PATH.exec((req.url ?? '').split('?')[0] ?? '');
    if (!match) return false;
    req.resume(); // the body is not read
    const reply = (status: number) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: status === 200 }));
    };
    if (req.method !== 'POST') {
      reply(405);
      return true;
    }
    const [, taskId, token] = match as unknown as [string, string, string];
    void deps.store.db.task
      .findUnique({ where: { id: taskId }, select: { callbackToken: true, status: true } })
      .then(async (task) => {
        if (!task || !secretsEqual(task.callbackToken, token)) return reply(404);
        // Before acceptance is recorded, the hint waits on the row; if
        // acceptance won the race, the poll happens now as for any callback.
        const early = task.status === 'SUBMITTING' && (await keepEarlyCallback(deps.store.db, taskId));
        reply(200);
        if (task.status === 'IN_PROGRESS' || (task.status === 'SUBMITTING' && !early)) {
          pollNow(taskId).catch((error: unknown) => deps.logger.warn({ err: error, taskId }, 'callback poll failed'));
        }
      })
      .catch((error: unknown) => {
        deps.logger.error({ err: error }, 'callback handling failed');
        reply(500);
      });
    return true;
  };
}
