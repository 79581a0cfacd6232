// The web console (console/, a Vite build in console/dist) served at
// /console by the gateway itself, so it needs no other host: its scripts,
// styles and icon come from here, and it talks to /graphql on this origin
// (HTTP and graphql-ws). Hashed assets are cached for good; index.html is
// revalidated every time, so a new build is picked up at once. Any other
// path under /console/ is a client-side route and gets index.html.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CONSOLE_PATH = '/console';

/** Where `npm run console:build` writes the console. */
export const CONSOLE_DIST = fileURLToPath(new URL('../../console/dist/', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/**
 * Only this origin for the console's own code, styles and connections
 * (graphql-ws included: CSP 'self' does not match ws: in every browser, so
 * the socket's own address is named). Images and videos are generation
 * results, which live wherever upstream keeps them, so any http(s) source
 * may be shown; nothing else may be loaded from another host.
 */
export function consoleCsp(host: string | undefined): string {
  const sockets = host && /^[A-Za-z0-9.:[\]-]+$/.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob: http: https:",
    "media-src 'self' blob: http: https:",
    `connect-src 'self'${sockets}`,
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Console not built</title></head>
<body><h1>The console is not built</h1>
<p>Run <code>npm run console:build</code> (it runs on <code>npm install</code>), then reload this page.</p>
</body></html>
`;

function securityHeaders(req: IncomingMessage): Record<string, string> {
  return {
    'content-security-policy': consoleCsp(req.headers.host),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
  };
}

function sendText(req: IncomingMessage, res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    ...securityHeaders(req),
    ...headers,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

async function fileSize(file: string): Promise<number | null> {
  try {
    const info = await stat(file);
    return info.isFile() ? info.size : null;
  } catch {
    return null;
  }
}

async function sendFile(req: IncomingMessage, res: ServerResponse, file: string, size: number, cacheControl: string): Promise<void> {
  res.writeHead(200, {
    'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
    'content-length': String(size),
    'cache-control': cacheControl,
    ...securityHeaders(req),
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  await new Promise<void>((resolve) => {
    const stream = createReadStream(file);
    stream.on('error', () => {
      res.destroy();
      resolve();
    });
    stream.on('end', resolve);
    stream.pipe(res);
  });
}

/**
 * The /console route: true when it answered the request. `distDir` is the
 * build (default console/dist); while it has no index.html every page is a
 * 503 that says how to build it.
 */
export function createConsoleRoute(options: { distDir?: string } = {}): (req: IncomingMessage, res: ServerResponse) => boolean {
  const root = path.resolve(options.distDir ?? CONSOLE_DIST);

  async function serve(req: IncomingMessage, res: ServerResponse, urlPath: string): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendText(req, res, 405, 'text/plain; charset=utf-8', 'Method not allowed\n', { allow: 'GET, HEAD' });
      return;
    }
    const index = path.join(root, 'index.html');
    const indexSize = await fileSize(index);
    if (indexSize === null) {
      sendText(req, res, 503, 'text/html; charset=utf-8', NOT_BUILT, { 'retry-after': '60' });
      return;
    }
    let relative: string;
    try {
      relative = decodeURIComponent(urlPath.slice(CONSOLE_PATH.length)).replace(/^\/+/, '');
    } catch {
      sendText(req, res, 400, 'text/plain; charset=utf-8', 'Bad path\n');
      return;
    }
    // A file is one of the build's own, never a path outside it.
    const file = path.resolve(root, relative);
    const inside = file.startsWith(root + path.sep) && !relative.includes('\0');
    if (relative !== '' && inside) {
      const size = await fileSize(file);
      if (size !== null) {
        // Vite names every asset after its content hash: a changed file gets a new name.
        const immutable = relative.startsWith('assets/');
        await sendFile(req, res, file, size, immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
        return;
      }
    }
    // A missing asset is a 404, never the page: a stale script tag must fail visibly.
    if (relative !== '' && (!inside || relative.startsWith('assets/') || path.extname(relative) !== '')) {
      sendText(req, res, 404, 'text/plain; charset=utf-8', 'Not found\n');
      return;
    }
    await sendFile(req, res, index, indexSize, 'no-cache');
  }

  return (req, res) => {
    const urlPath = (req.url ?? '/').split('?')[0]!;
    if (urlPath !== CONSOLE_PATH && !urlPath.startsWith(`${CONSOLE_PATH}/`)) return false;
    serve(req, res, urlPath).catch(() => {
      if (!res.headersSent) sendText(req, res, 500, 'text/plain; charset=utf-8', 'Internal error\n');
      else res.destroy();
    });
    return true;
  };
}
