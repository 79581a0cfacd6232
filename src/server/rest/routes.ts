// The REST facade: the upstream's own API (POST /api/generate, GET or POST
// /api/status) served to tenants beside GraphQL, so a client written against
// Grok Imagine changes its base URL and key and nothing else. A generation is
// the one generation path (tasks/submit.ts): the same rate limits,
// idempotency, hold, charge and refund, events, webhooks and metrics as a
// GraphQL mutation. Bodies are always the upstream's envelope.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiKeyScope } from '../../generated/prisma/enums.ts';
import type { Principal } from '../../auth/principal.ts';
import { upstreamStatusData } from '../../tasks/payload.ts';
import { submitGeneration } from '../../tasks/submit.ts';
import { NotFoundError, SourceNotReadyError, ValidationError } from '../../errors.ts';
import { clientAddressResolver } from '../client-address.ts';
import { authenticate, chargeOperation, type AppDeps } from '../context.ts';
import { RestError, toRestError } from './errors.ts';
import { buildOpenApiDocument } from './openapi.ts';
import { isTaskId, parseGenerateBody, parseStatusBody } from './wire.ts';

export const REST_PREFIX = '/api';

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

function success(res: ServerResponse, data: unknown, headers?: Record<string, string>): void {
  send(res, 200, { code: 200, message: 'success', data }, headers);
}

function failure(res: ServerResponse, error: RestError): void {
  const headers: Record<string, string> = {};
  if (error.retryAfterSeconds !== undefined) headers['retry-after'] = String(error.retryAfterSeconds);
  if (error.status === 401) headers['www-authenticate'] = 'Bearer';
  send(res, error.status, { code: error.status, message: error.message, data: null }, headers);
}

/** The JSON body, bounded by MAX_BODY_BYTES (413 beyond); an empty body is null. */
async function readJson(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  if (Number(req.headers['content-length'] ?? 0) > maxBytes) {
    req.resume();
    throw new RestError(413, `request body larger than ${maxBytes} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      req.resume();
      throw new RestError(413, `request body larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    throw new RestError(400, 'request body is not valid JSON');
  }
}

export function createRestRoutes(deps: AppDeps): (req: IncomingMessage, res: ServerResponse) => boolean {
  const addressOf = clientAddressResolver(deps.config.trustProxy);
  let openApi: string | null = null;

  /** The calling tenant, with the scope the endpoint needs; every request takes one operation from its budget. */
  async function tenantOf(req: IncomingMessage, scope: ApiKeyScope): Promise<Extract<Principal, { kind: 'tenant' }>> {
    const principal = await authenticate(deps.authenticator, req.headers.authorization, addressOf(req));
    if (!principal) throw new RestError(401, 'Missing API key: send Authorization: Bearer <API key>');
    if (principal.kind !== 'tenant') throw new RestError(403, 'This API takes a tenant API key, not admin credentials');
    if (!principal.scopes.includes(scope)) {
      throw new RestError(403, `This API key lacks the ${scope} scope (its scopes: ${principal.scopes.join(', ') || 'none'})`);
    }
    await chargeOperation(deps, principal);
    return principal;
  }

  async function generate(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const tenant = await tenantOf(req, 'GENERATE');
    const body = await readJson(req, deps.config.maxBodyBytes);
    const key = req.headers['idempotency-key'];
    const parsed = parseGenerateBody(body, typeof key === 'string' ? key : null);
    if (!parsed.ok) throw new RestError(400, parsed.message);
    const request = parsed.value;
    // Ids that are not uuids name no task of ours; ask the database nothing.
    if (request.sourceTaskId !== null && !isTaskId(request.sourceTaskId)) {
      throw new RestError(400, `input.task_id ${request.sourceTaskId} does not exist`);
    }
    const { tenantId, keyId } = tenant;
    // Whether this is a replay, for the Idempotent-Replayed header only (a
    // retry racing the first request is replayed too, just not labelled).
    const earlier = request.idempotencyKey
      ? await deps.db.task.findUnique({ where: { tenantId_idempotencyKey: { tenantId, idempotencyKey: request.idempotencyKey } }, select: { id: true } })
      : null;
    let task;
    try {
      task = await submitGeneration(deps.tasks, { tenantId, keyId, origin: 'REST' }, request);
    } catch (error) {
      throw await inUpstreamWords(error, tenantId, request.sourceTaskId);
    }
    // A replay answers what the first request answered (Stripe's convention), and says so.
    const replayed = earlier?.id === task.id;
    success(res, { task_id: task.id, status: 'IN_PROGRESS' }, replayed ? { 'idempotent-replayed': 'true' } : {});
  }

  /** Failures about input.task_id, told as upstream tells them (400, naming the id). */
  async function inUpstreamWords(error: unknown, tenantId: string, sourceTaskId: string | null): Promise<unknown> {
    if (sourceTaskId === null) return error;
    if (error instanceof NotFoundError) return new RestError(400, `input.task_id ${sourceTaskId} does not exist`);
    if (error instanceof SourceNotReadyError) {
      const source = await deps.db.task.findFirst({ where: { id: sourceTaskId, tenantId }, select: { status: true } });
      const status = source?.status === 'SUBMITTING' ? 'IN_PROGRESS' : (source?.status ?? 'unknown');
      return new RestError(400, `input.task_id ${sourceTaskId} has not succeeded (status ${status})`);
    }
    if (error instanceof ValidationError && error.field === 'sourceTaskId') {
      return new RestError(400, `input.task_id ${sourceTaskId} is a video, not an image: image-to-video animates images`);
    }
    return error;
  }

  async function status(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
    const tenant = await tenantOf(req, 'READ');
    const parsed = req.method === 'GET' ? parseStatusBody({ task_id: query.get('task_id') ?? undefined }) : parseStatusBody(await readJson(req, deps.config.maxBodyBytes));
    if (!parsed.ok) throw new RestError(400, parsed.message);
    const id = parsed.value;
    // Another tenant's task is as unknown as one that does not exist.
    const task = isTaskId(id) ? await deps.db.task.findFirst({ where: { id, tenantId: tenant.tenantId } }) : null;
    if (!task) throw new RestError(404, `task ${id} not found`);
    success(res, upstreamStatusData(task));
  }

  async function handle(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<void> {
    const method = req.method ?? 'GET';
    if (path === '/api/openapi.json') {
      if (method !== 'GET') throw new RestError(405, 'method not allowed: use GET');
      openApi ??= JSON.stringify(buildOpenApiDocument());
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(openApi);
      return;
    }
    if (path === '/api/generate') {
      if (method !== 'POST') throw new RestError(405, 'method not allowed: use POST');
      return generate(req, res);
    }
    if (path === '/api/status') {
      if (method !== 'GET' && method !== 'POST') throw new RestError(405, 'method not allowed: use GET or POST');
      return status(req, res, query);
    }
    throw new RestError(404, `no such endpoint: ${path}`);
  }

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://gateway');
    if (url.pathname !== REST_PREFIX && !url.pathname.startsWith(`${REST_PREFIX}/`)) return false;
    handle(req, res, url.pathname, url.searchParams).catch((error: unknown) => {
      // Refused before its body was read (a bad key, a wrong method): drain it.
      req.resume();
      const known = toRestError(error);
      if (!known) deps.logger.error({ err: error, path: url.pathname }, 'REST request failed unexpectedly');
      if (res.headersSent) return void res.destroy();
      failure(res, known ?? new RestError(500, 'Internal error; please retry'));
    });
    return true;
  };
}
