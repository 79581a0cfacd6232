// Raw HTTP to the REST facade (/api/…) of a test gateway, as a client of the
// upstream would send it, and the polling a client does until a task ends.
export interface RestReply {
  status: number;
  json: unknown;
  headers: Headers;
}

export async function rest(
  baseUrl: string,
  path: string,
  init: { method?: string; body?: unknown; key?: string | null; headers?: Record<string, string> } = {},
): Promise<RestReply> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.key) headers.authorization = `Bearer ${init.key}`;
  const body = init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
  if (body !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(`${baseUrl}/api${path}`, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, body });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON: kept as text, which a test then fails on
  }
  return { status: res.status, json, headers: res.headers };
}

export interface StatusData {
  task_id: string;
  status: 'IN_PROGRESS' | 'SUCCESS' | 'FAILED';
  request: { model: string; input: Record<string, unknown> };
  response: { resultUrls: string[] } | null;
  consumed_credits: number;
  error_message: string | null;
  created_at: string;
}

/** POST /api/generate; the task id of a 200, or a failure with the reply. */
export async function restGenerate(baseUrl: string, key: string, body: unknown, headers?: Record<string, string>): Promise<string> {
  const reply = await rest(baseUrl, '/generate', { key, body, ...(headers ? { headers } : {}) });
  if (reply.status !== 200) throw new Error(`generate answered ${reply.status}: ${JSON.stringify(reply.json)}`);
  return (reply.json as { data: { task_id: string } }).data.task_id;
}

export async function restStatus(baseUrl: string, key: string, taskId: string): Promise<StatusData> {
  const reply = await rest(baseUrl, `/status?task_id=${encodeURIComponent(taskId)}`, { key });
  if (reply.status !== 200) throw new Error(`status answered ${reply.status}: ${JSON.stringify(reply.json)}`);
  return (reply.json as { data: StatusData }).data;
}

/** Polls /api/status until the task is no longer IN_PROGRESS. */
export async function restWaitDone(baseUrl: string, key: string, taskId: string, timeoutMs = 15_000): Promise<StatusData> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const data = await restStatus(baseUrl, key, taskId);
    if (data.status !== 'IN_PROGRESS') return data;
    if (Date.now() > deadline) throw new Error(`task ${taskId} still IN_PROGRESS after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
}
