// Child processes of the soak: each in a process group of its own (so a
// SIGKILL takes the whole group, and nobody else's process), every one
// registered so that any exit of the soak, failed or not, ends them all.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';

export interface Child {
  name: string;
  pid: number;
  process: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** Signals the child's whole process group. */
  signal(signal: NodeJS.Signals): void;
  /** The last lines it wrote (stdout and stderr). */
  tail(): string[];
  /** Set before the soak signals it, so its exit is not taken for a crash. */
  killedBySoak: boolean;
}

const children = new Set<Child>();
/** Set once the soak is ending: nothing new is started after it. */
let closing = false;

/** `node --import tsx <script>` in its own process group; `onLine` sees every line it writes. */
export function spawnTs(
  name: string,
  script: string,
  env: Record<string, string>,
  onLine?: (line: string, stream: 'out' | 'err') => void,
  logFile?: string,
): Child {
  if (closing) throw new Error(`not starting ${name}: the soak is ending`);
  const proc = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const tail: string[] = [];
  const file = logFile ? createWriteStream(logFile, { flags: 'a' }) : null;
  const lines = (stream: 'out' | 'err') => {
    let buffer = '';
    return (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        tail.push(line);
        file?.write(`${line}\n`);
        if (tail.length > 40) tail.shift();
        onLine?.(line, stream);
      }
    };
  };
  proc.stdout!.on('data', lines('out'));
  proc.stderr!.on('data', lines('err'));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const child: Child = {
    name,
    pid: proc.pid!,
    process: proc,
    exited,
    alive: () => proc.exitCode === null && proc.signalCode === null,
    signal(sig) {
      if (!child.alive()) return;
      try {
        process.kill(-proc.pid!, sig);
      } catch {
        /* already gone */
      }
    },
    tail: () => [...tail],
    killedBySoak: false,
  };
  children.add(child);
  void exited.then(() => {
    children.delete(child);
    file?.end();
  });
  return child;
}

/** SIGKILLs every child still running (the soak's exit path, whatever the cause). */
export function killAllChildren(): void {
  closing = true;
  for (const child of children) {
    child.killedBySoak = true;
    child.signal('SIGKILL');
  }
}

/** Stops a child politely, then by force after `graceMs`. */
export async function stopChild(child: Child, graceMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  child.signal('SIGTERM');
  const timer = setTimeout(() => child.signal('SIGKILL'), graceMs);
  const result = await child.exited;
  clearTimeout(timer);
  return result;
}

export { freePort } from '../../src/db/embedded.ts';

/** A throwaway directory under .data, removed by `removeWorkDir`. */
export async function makeWorkDir(): Promise<string> {
  const dir = path.resolve('.data', `soak-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

export async function removeWorkDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
