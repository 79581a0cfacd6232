// How the gateway serves the console at /console: content types, caching,
// client-side routes, refusals, the page shown before a build, and that the
// built console names no other host (its requests in a real browser are
// checked in console.e2e.test.ts).
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_DIST, consoleCsp, createConsoleRoute } from '../../src/server/console.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

async function serve(distDir: string): Promise<{ url: string; server: Server }> {
  const route = createConsoleRoute({ distDir });
  const server = createServer((req, res) => {
    if (!route(req, res)) {
      res.writeHead(418);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** A GET with the path exactly as given: fetch would resolve `..` and `%2e%2e` before sending. */
function rawGet(base: string, rawPath: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path: rawPath, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the /console route, on a build of known files', () => {
  let dir: string;
  let url: string;
  let server: Server;
  const INDEX = '<!doctype html><script type="module" src="/console/assets/index-abc123.js"></script>';

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'console-dist-'));
    await mkdir(path.join(dir, 'assets'));
    await writeFile(path.join(dir, 'index.html'), INDEX);
    await writeFile(path.join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
    await writeFile(path.join(dir, 'assets', 'index-abc123.css'), 'body{}');
    await writeFile(path.join(dir, 'favicon.svg'), '<svg/>');
    await writeFile(path.join(os.tmpdir(), 'console-secret.txt'), 'outside');
    ({ url, server } = await serve(dir));
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('answers index.html at /console, /console/ and every client-side route, revalidated each time, with a same-origin CSP', async () => {
    for (const p of ['/console', '/console/', '/console/admin', '/console/admin/tenants/VGVuYW50OjE', '/console/playground?x=1']) {
      const res = await fetch(url + p);
      expect(res.status, p).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(await res.text()).toBe(INDEX);
      const csp = res.headers.get('content-security-policy')!;
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain(`connect-src 'self' ws://${new URL(url).host} wss://${new URL(url).host}`);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  it('serves hashed assets as immutable, with their content type; other files revalidated', async () => {
    const js = await fetch(`${url}/console/assets/index-abc123.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await js.text()).toBe('console.log(1)');
    const css = await fetch(`${url}/console/assets/index-abc123.css`);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    const icon = await fetch(`${url}/console/favicon.svg`);
    expect(icon.headers.get('content-type')).toBe('image/svg+xml');
    expect(icon.headers.get('cache-control')).toBe('no-cache');
    const head = await fetch(`${url}/console/assets/index-abc123.js`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('14');
  });

  it('answers 404, never the page, for a missing asset or file, and nothing outside the build', async () => {
    for (const p of ['/console/assets/index-gone.js', '/console/missing.png', '/console/../console-secret.txt', '/console/%2e%2e/console-secret.txt', '/console/assets/%2e%2e/%2e%2e/console-secret.txt']) {
      const res = await rawGet(url, p);
      expect(res.status, p).toBe(404);
      expect(res.body).not.toContain('outside');
    }
    expect((await rawGet(url, '/console/%E0%A4%A')).status).toBe(400);
  });

  it('refuses writes with 405, and leaves other paths to the next route', async () => {
    const post = await fetch(`${url}/console/`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await fetch(`${url}/consoles`)).status).toBe(418);
    expect((await fetch(`${url}/graphql`)).status).toBe(418);
  });

  it('says how to build the console while there is no build (503)', async () => {
    const empty = await mkdtemp(path.join(os.tmpdir(), 'console-empty-'));
    const bare = await serve(empty);
    try {
      for (const p of ['/console/', '/console/assets/index-abc123.js']) {
        const res = await fetch(bare.url + p);
        expect(res.status).toBe(503);
        expect(await res.text()).toContain('npm run console:build');
      }
    } finally {
      await new Promise((resolve) => bare.server.close(resolve));
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('names no other host in its CSP, whatever Host header arrives', () => {
    expect(consoleCsp('evil.example"; script-src *')).not.toContain('evil');
    expect(consoleCsp(undefined)).toContain("connect-src 'self';");
  });
});

/** Every http(s) URL written in a text. */
function urlsIn(text: string): string[] {
  return text.match(/https?:\/\/[^\s"'`<>)\\]+/g) ?? [];
}

// Hosts the bundle names in text it never fetches: XML namespaces (SVG), and
// the links inside library error messages.
const NAMED_NOT_FETCHED = new Set(['www.w3.org', 'react.dev', 'reactjs.org']);

describe('the built console, served by a real gateway', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    await readFile(path.join(CONSOLE_DIST, 'index.html')).catch(() => {
      throw new Error('console/dist is missing: run `npm run console:build` (npm install runs it)');
    });
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('loads only files of its own origin: every script, style and icon of the page answers 200 from the gateway', async () => {
    const page = await fetch(`${gw.url}/console/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const refs = [...html.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThanOrEqual(2);
    for (const ref of refs) {
      expect(ref, 'a path of this origin under /console/').toMatch(/^\/console\//);
      const res = await fetch(gw.url + ref);
      expect(res.status, ref).toBe(200);
    }
    expect(refs.some((r) => /^\/console\/assets\/.+\.js$/.test(r))).toBe(true);
  });

  it('names no other host anywhere in the build, except in text it never fetches', async () => {
    const files = (await readdir(CONSOLE_DIST, { recursive: true, withFileTypes: true })).filter((f) => f.isFile());
    const hosts = new Set<string>();
    for (const file of files) {
      const text = await readFile(path.join(file.parentPath, file.name), 'utf8');
      for (const u of urlsIn(text)) hosts.add(URL.canParse(u) ? new URL(u).host : u);
      // No protocol-relative reference to another host either.
      expect(text).not.toMatch(/(?:src|href)=["']\/\//);
    }
    expect([...hosts].filter((h) => !NAMED_NOT_FETCHED.has(h))).toEqual([]);
  });
});
