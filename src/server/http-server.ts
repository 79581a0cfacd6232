import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GraphQLSchema } from 'graphql';
import { bearerToken, secretsEqual } from '../auth/secrets.ts';
import type { AppDeps } from './context.ts';
import { checkReadiness, shippedMigrations } from './health.ts';
import { attachWebSocket } from './websocket.ts';
import { createConsoleRoute } from './console.ts';
import { createMasker } from './errors.ts';
import { createRestRoutes } from './rest/routes.ts';
import { OperationRunner } from './ws-operations.ts';
import { createGatewayYoga } from './yoga.ts';

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Rejects bodies over the limit before Yoga reads them: by Content-Length
 * when given (413), and requires a length for bodies (411), so a chunked
 * upload cannot stream past the limit.
 */
function bodyTooLarge(req: IncomingMessage, res: ServerResponse, maxBytes: number): boolean {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return false;
  const length = req.headers['content-length'];
  if (length === undefined) {
    if (req.headers['transfer-encoding']) {
      sendJson(res, 411, { errors: [{ message: 'Content-Length required', extensions: { code: 'LENGTH_REQUIRED' } }] });
      return true;
    }
    return false;
  }
  if (Number(length) > maxBytes) {
    sendJson(res, 413, {
      errors: [{ message: `Request body larger than ${maxBytes} bytes`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }],
    });
    req.resume();
    return true;
  }
  return false;
}

/**
 * Prometheus exposition. With METRICS_TOKEN set, only `Authorization: Bearer
 * <token>` may scrape (401 otherwise); without it, anyone who reaches the
 * port may (keep it off the public internet).
 */
function serveMetrics(deps: AppDeps, req: IncomingMessage, res: ServerResponse): void {
  const token = deps.config.metricsToken;
  if (token && !secretsEqual(bearerToken(req.headers.authorization ?? '') ?? '', token)) {
    res.writeHead(401, { 'www-authenticate': 'Bearer', 'content-type': 'text/plain' });
    res.end('metrics: Authorization: Bearer <METRICS_TOKEN> required\n');
    return;
  }
  deps.metrics.scrape().then(
    ({ body, contentType }) => {
      res.writeHead(200, { 'content-type': contentType });
      res.end(body);
    },
    (error: unknown) => {
      deps.logger.error({ err: error }, 'metrics could not be collected');
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('metrics could not be collected\n');
    },
  );
}

export interface RunningServer {
  url: string;
  port: number;
  /** Stops accepting, lets in-flight requests finish (up to the timeout), closes sockets. */
  close(): Promise<void>;
}

export async function startHttpServer(
  deps: AppDeps,
  schema: GraphQLSchema,
  extraRoutes: (req: IncomingMessage, res: ServerResponse) => boolean = () => false,
): Promise<RunningServer> {
  const yoga = createGatewayYoga(deps, schema);
  const migrations = await shippedMigrations();
  const rest = createRestRoutes(deps);
  const consoleRoute = createConsoleRoute();

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (path === '/metrics') return serveMetrics(deps, req, res);
    if (path === '/readyz') {
      void checkReadiness(deps.db, migrations).then((r) => sendJson(res, r.ready ? 200 : 503, r));
      return;
    }
    if (rest(req, res)) return;
    if (consoleRoute(req, res)) return;
    if (extraRoutes(req, res)) return;
    if (path === yoga.graphqlEndpoint) {
      if (bodyTooLarge(req, res, deps.config.maxBodyBytes)) return;
      void yoga(req, res);
      return;
    }
    sendJson(res, 404, { error: 'Not found' });
  });
  server.requestTimeout = 60_000;
  server.headersTimeout = 20_000;
  const masker = createMasker({ production: deps.config.env === 'production', logger: deps.logger });
  const ws = attachWebSocket(deps, server, yoga.graphqlEndpoint, new OperationRunner(yoga, masker));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(deps.config.port, deps.config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = deps.config.host === '0.0.0.0' || deps.config.host === '::' ? 'localhost' : deps.config.host;

  return {
    url: `http://${shownHost}:${port}`,
    port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await ws.close();
      const timeout = setTimeout(() => server.closeAllConnections(), deps.config.shutdownTimeoutMs);
      await closed;
      clearTimeout(timeout);
      await yoga.dispose();
    },
  };
}
