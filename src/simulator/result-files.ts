// Result files: a PNG gradient for images, a short H.264 MP4 for videos, both
// derived from the task id, so a browser can show a task's output. Generated
// on request from the task in memory; with a files directory, also written
// there when the task succeeds, so a result URL keeps answering with the same
// bytes after the process restarts (the gateway's in-process simulator keeps
// them under DATA_DIR/simulator/files and serves them on its own origin).
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { writeRaw } from './http-io.ts';
import { gradientMp4 } from './mp4.ts';
import { gradientPng } from './png.ts';

export type ResultExt = 'png' | 'mp4';

/** What a result file is made from. */
export interface ResultSource {
  id: string;
  kind: 'image' | 'video';
  /** Side of the square result in pixels. */
  size: number;
}

/** `/files/<task id>/0.<ext>`: the path of a result under the files root; nothing else matches (no `..`). */
const FILE_PATH = /^\/files\/([A-Za-z0-9_-]{1,100})\/0\.(png|mp4)$/;

export function parseResultPath(pathname: string): { id: string; ext: ResultExt } | undefined {
  const match = FILE_PATH.exec(pathname);
  return match ? { id: match[1]!, ext: match[2] as ResultExt } : undefined;
}

export function resultExt(task: ResultSource): ResultExt {
  return task.kind === 'image' ? 'png' : 'mp4';
}

export function contentTypeOf(ext: ResultExt): string {
  return ext === 'png' ? 'image/png' : 'video/mp4';
}

export function renderResult(task: ResultSource): Buffer {
  return task.kind === 'image' ? gradientPng(task.id, task.size) : gradientMp4(task.id, task.size);
}

/**
 * Writes a task's result file under `dir`. Synchronously: the task's status
 * (and so its URL) can be read in the same tick it succeeds, and the file must
 * exist before anyone can ask for it; they are a few kilobytes. Written to a
 * temporary name and renamed, so a reader never sees half a file.
 */
export function saveResult(dir: string, task: ResultSource): void {
  const ext = resultExt(task);
  const folder = path.join(dir, task.id);
  mkdirSync(folder, { recursive: true });
  const file = path.join(folder, `0.${ext}`);
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, renderResult(task));
  renameSync(temporary, file);
}

/** A saved result file, or undefined when there is none. */
export async function readSavedResult(dir: string, id: string, ext: ResultExt): Promise<Buffer | undefined> {
  try {
    return await readFile(path.join(dir, id, `0.${ext}`));
  } catch {
    return undefined;
  }
}

/** Answers GET or HEAD with a result file; returns the HTTP status sent. */
export function writeResult(res: ServerResponse, method: string, ext: ResultExt, file: Buffer | undefined): number {
  if (!file) {
    writeRaw(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    return 404;
  }
  if (method === 'HEAD') {
    res.writeHead(200, { 'content-type': contentTypeOf(ext), 'content-length': file.length });
    res.end();
  } else {
    writeRaw(res, 200, contentTypeOf(ext), file);
  }
  return 200;
}

/**
 * A route for another HTTP server (the gateway's): `${prefix}/files/<id>/0.<ext>`
 * answered from the saved files in `dir`, whether or not a simulator runs.
 * Returns false for paths it does not own.
 */
export function createSavedResultsRoute(dir: string, prefix: string) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const pathname = (req.url ?? '/').split('?')[0] ?? '/';
    if (!pathname.startsWith(`${prefix}/files/`)) return false;
    req.resume();
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('method not allowed\n');
      return true;
    }
    const wanted = parseResultPath(pathname.slice(prefix.length));
    if (!wanted) {
      writeResult(res, method, 'png', undefined);
      return true;
    }
    void readSavedResult(dir, wanted.id, wanted.ext).then((file) => writeResult(res, method, wanted.ext, file));
    return true;
  };
}
