// The simulator's endpoint handlers, written as request → SimResponse so the
// server can still decide to fail the response after acting (fault "commit").
import type { ServerResponse } from 'node:http';
import type { SimulatorOptions } from './options.ts';
import { envelope, isPlainObject, parseJson, type SimResponse, success } from './http-io.ts';
import { parseResultPath, readSavedResult, renderResult, resultExt, writeResult } from './result-files.ts';
import type { TaskStore } from './store.ts';
import { validateGenerate } from './validate.ts';

export function handleGenerate(store: TaskStore, bodyText: string): SimResponse {
  const parsed = parseJson(bodyText);
  if (!parsed.ok) return envelope(400, 'request body is not valid JSON');
  const checked = validateGenerate(parsed.value);
  if (!checked.ok) return envelope(400, checked.message);
  const created = store.create(checked.value);
  if (!created.ok) return envelope(created.status, created.message);
  return success({ task_id: created.task.id, status: created.task.status });
}

export function handleStatus(store: TaskStore, method: string, query: URLSearchParams, bodyText: string): SimResponse {
  let taskId: unknown = query.get('task_id') ?? undefined;
  if (taskId === undefined && method === 'POST') {
    const parsed = parseJson(bodyText);
    if (!parsed.ok) return envelope(400, 'request body is not valid JSON');
    if (parsed.value !== undefined && !isPlainObject(parsed.value)) return envelope(400, 'request body must be a JSON object');
    taskId = parsed.value?.task_id;
  }
  if (taskId === undefined || taskId === null || taskId === '') {
    return envelope(400, 'task_id is required, as ?task_id= or in a JSON body');
  }
  if (typeof taskId !== 'string') return envelope(400, 'task_id must be a string');
  const task = store.get(taskId);
  if (!task) return envelope(404, `task not found: ${taskId}`);
  return success(store.statusRead(task));
}

/**
 * Simulator extension (the real service has a gallery web page, not an API):
 * GET /api/gallery?limit=&offset=&status=all lists public tasks, newest
 * first, successful ones only unless status=all. No key needed, like a public page.
 */
export function handleGallery(store: TaskStore, query: URLSearchParams): SimResponse {
  const limit = intParam(query.get('limit'), 50);
  const offset = intParam(query.get('offset'), 0);
  if (limit === undefined || limit < 1 || limit > 200) return envelope(400, 'limit must be an integer in 1..200');
  if (offset === undefined || offset < 0) return envelope(400, 'offset must be a non-negative integer');
  const all = store.publicTasks(query.get('status') === 'all');
  return success({ total: all.length, items: all.slice(offset, offset + limit).map((t) => store.statusData(t)) });
}

function intParam(value: string | null, fallback: number): number | undefined {
  if (value === null || value === '') return fallback;
  return /^\d+$/.test(value) ? Number(value) : undefined;
}

export function handleIndex(options: SimulatorOptions): SimResponse {
  return success({
    name: 'grok-imagine simulator',
    endpoints: ['POST /api/generate', 'GET|POST /api/status', 'GET /api/gallery', 'GET /files/<task_id>/0.(png|mp4)'],
    rateLimitPerSecond: options.rateLimit,
  });
}

/**
 * Writes a result file (or a 404) and returns the HTTP status sent: from the
 * task in memory when this process has it, else from `filesDir` (a task of an
 * earlier run of the simulator on the same directory).
 */
export async function serveFile(store: TaskStore, pathname: string, method: string, res: ServerResponse, filesDir?: string): Promise<number> {
  const wanted = parseResultPath(pathname);
  if (!wanted) return writeResult(res, method, 'png', undefined);
  const task = store.get(wanted.id);
  if (task) {
    const found = task.status === 'SUCCESS' && wanted.ext === resultExt(task);
    return writeResult(res, method, wanted.ext, found ? renderResult(task) : undefined);
  }
  const saved = filesDir === undefined ? undefined : await readSavedResult(filesDir, wanted.id, wanted.ext);
  return writeResult(res, method, wanted.ext, saved);
}

export type Endpoint = 'generate' | 'status' | 'gallery' | 'files' | 'index' | 'other';

export function endpointOf(pathname: string): Endpoint {
  const path = pathname.replace(/\/+$/, '') || '/';
  if (path === '/api/generate') return 'generate';
  if (path === '/api/status') return 'status';
  if (path === '/api/gallery') return 'gallery';
  if (path.startsWith('/files/')) return 'files';
  if (path === '/' || path === '/api') return 'index';
  return 'other';
}

export function allowedMethods(endpoint: Endpoint): string[] {
  switch (endpoint) {
    case 'generate':
      return ['POST'];
    case 'status':
      return ['GET', 'POST'];
    case 'files':
      return ['GET', 'HEAD'];
    default:
      return ['GET'];
  }
}
