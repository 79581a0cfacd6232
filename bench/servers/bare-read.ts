// The same work as the gateway's reads, bare: node:http and pg, no GraphQL.
// Per request, what any server answering these reads must do: read and parse
// the JSON body, find the caller by the SHA-256 of its bearer key (cached, as
// the gateway caches it), run the one statement the read needs as a named
// prepared statement (as the gateway's pool does), and write the answer in
// the gateway's shape (global ids, cursors). Routes: /me/balance, /tasks,
// /task (body `{"variables": {"id": <global id>}}`).
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DATABASE_POOL_SIZE ?? 10) });
const callers = new Map<string, string>();

async function tenantOf(req: IncomingMessage): Promise<string | null> {
  const token = /^Bearer\s+(\S+)$/.exec(req.headers.authorization ?? '')?.[1];
  if (!token) return null;
  const hash = createHash('sha256').update(token).digest('hex');
  const cached = callers.get(hash);
  if (cached) return cached;
  const { rows } = await pool.query({
    name: 'key',
    text: 'SELECT tenant_id FROM api_key WHERE hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())',
    values: [hash],
  });
  const tenant = (rows[0]?.tenant_id as string | undefined) ?? null;
  if (tenant) callers.set(hash, tenant);
  return tenant;
}

const TASK_COLUMNS = 'id, model, status, prompt, result_urls, credits_charged, refunded, error_message, created_at, completed_at';

interface TaskRow {
  id: string;
  model: string;
  status: string;
  prompt: string | null;
  result_urls: string[];
  credits_charged: number;
  refunded: boolean;
  error_message: string | null;
  created_at: Date;
  completed_at: Date | null;
}

const globalId = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString('base64');
const task = (row: TaskRow) => ({
  id: globalId('Task', row.id),
  model: row.model,
  status: row.status,
  prompt: row.prompt,
  resultUrls: row.result_urls,
  creditsCharged: row.credits_charged,
  refunded: row.refunded,
  errorMessage: row.error_message,
  createdAt: row.created_at.toISOString(),
  completedAt: row.completed_at?.toISOString() ?? null,
});
const cursor = (tenantId: string, row: TaskRow) =>
  Buffer.from(JSON.stringify([1, createHash('sha256').update(`tasks\u0000${tenantId}`).digest('base64url').slice(0, 16), row.created_at.getTime(), row.id])).toString('base64url');

const routes: Record<string, (tenantId: string, body: { variables?: Record<string, string> }) => Promise<unknown>> = {
  async '/me/balance'(tenantId) {
    const { rows } = await pool.query({
      name: 'balance',
      text: 'SELECT a.available FROM tenant t LEFT JOIN account a ON a.tenant_id = t.id WHERE t.id = $1',
      values: [tenantId],
    });
    return { me: { balance: { available: rows[0]?.available ?? 0 } } };
  },
  async '/tasks'(tenantId) {
    const { rows } = await pool.query<TaskRow>({
      name: 'tasks',
      text: `SELECT ${TASK_COLUMNS} FROM task WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT 21`,
      values: [tenantId],
    });
    const page = rows.slice(0, 20);
    const last = page[page.length - 1];
    return {
      tasks: { pageInfo: { hasNextPage: rows.length > 20, endCursor: last ? cursor(tenantId, last) : null }, nodes: page.map(task) },
    };
  },
  async '/task'(tenantId, body) {
    const id = Buffer.from(body.variables?.id ?? '', 'base64').toString().split(':')[1];
    const { rows } = await pool.query<TaskRow>({
      name: 'task',
      text: `SELECT ${TASK_COLUMNS} FROM task WHERE id = $1 AND tenant_id = $2`,
      values: [id, tenantId],
    });
    return { task: rows[0] ? task(rows[0]) : null };
  },
};

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const server = createServer((req, res) => {
  const route = routes[req.url ?? ''];
  if (!route) return send(res, 404, { errors: [{ message: 'Not found' }] });
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    void (async () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { variables?: Record<string, string> };
        const tenantId = await tenantOf(req);
        if (!tenantId) return send(res, 401, { errors: [{ message: 'Invalid or revoked API key' }] });
        send(res, 200, { data: await route(tenantId, body) });
      } catch (error) {
        send(res, 500, { errors: [{ message: String(error) }] });
      }
    })();
  });
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(JSON.stringify({ url: `http://127.0.0.1:${port}/graphql` }));
});
process.on('SIGTERM', () => {
  server.close();
  void pool.end().then(() => process.exit(0));
});
