// Small node:http helpers: bounded body reading and the contract's envelope.
import type { IncomingMessage, ServerResponse } from 'node:http';

// Far above any valid /generate body (a 5000-character prompt and some URLs),
// small enough that a hostile client cannot make the simulator buffer much.
export const MAX_BODY_BYTES = 1024 * 1024;

export type BodyResult = { ok: true; text: string } | { ok: false; reason: 'too_large' | 'aborted' };

export function readBody(req: IncomingMessage): Promise<BodyResult> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        done = true;
        // Keep draining without buffering so the 413 can still be written.
        resolve({ ok: false, reason: 'too_large' });
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!done) {
        done = true;
        resolve({ ok: true, text: Buffer.concat(chunks).toString('utf8') });
      }
    });
    // A client that hangs up mid-body gets no answer; resolve so nothing waits forever.
    req.on('close', () => {
      if (!done) {
        done = true;
        resolve({ ok: false, reason: 'aborted' });
      }
    });
    req.on('error', (err) => {
      if (!done) {
        done = true;
        reject(err);
      }
    });
  });
}

export interface SimResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export function envelope(status: number, message: string, data: unknown = null): SimResponse {
  return { status, body: { code: status, message, data } };
}

export function success(data: unknown): SimResponse {
  return envelope(200, 'success', data);
}

export function writeJson(res: ServerResponse, response: SimResponse): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(response.body);
  res.writeHead(response.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...response.headers,
  });
  res.end(text);
}

export function writeRaw(res: ServerResponse, status: number, contentType: string, body: Buffer | string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    // A result never changes once it exists; a 404 may turn into a file when the task finishes.
    'cache-control': status === 200 ? 'public, max-age=3600, immutable' : 'no-store',
    'access-control-allow-origin': '*',
  });
  res.end(body);
}

/** Parses a JSON body; an empty body counts as absent. */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  if (text.trim() === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
