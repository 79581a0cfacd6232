// The processes under a pid, read from /proc (Linux): what `npm start` left
// running is what these tests look for after it was told to stop.
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** Clock ticks since boot when it started: with the pid, names one process even if the pid is reused. */
  startTime: string;
  /** The kernel's name for it (`postgres`, `node`, `sh`, `esbuild`). */
  comm: string;
  /** R, S, D, Z (a zombie has exited: it only waits for its parent to read its status), ... */
  state: string;
  cmdline: string;
}

function readProcess(pid: number): ProcessInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after its last ')'.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    } catch {
      // gone meanwhile
    }
    return { pid, ppid: Number(fields[1]), startTime: fields[19] ?? '', comm, state: fields[0] ?? '?', cmdline };
  } catch {
    return undefined;
  }
}

export function allProcesses(): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const info = readProcess(Number(name));
    if (info) out.push(info);
  }
  return out;
}

/** Every process under `pid` (children, their children, ...), not `pid` itself. */
export function descendantsOf(pid: number): ProcessInfo[] {
  const byParent = new Map<number, ProcessInfo[]>();
  for (const info of allProcesses()) byParent.set(info.ppid, [...(byParent.get(info.ppid) ?? []), info]);
  const out: ProcessInfo[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of byParent.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}

/** Still running: the same process (pid and start time) exists and has not exited. */
export function isRunning(proc: ProcessInfo): boolean {
  const now = readProcess(proc.pid);
  return now !== undefined && now.startTime === proc.startTime && now.state !== 'Z';
}

/** Waits until none of `processes` runs; returns those still running after `timeoutMs`. */
export async function waitUntilGone(processes: ProcessInfo[], timeoutMs: number): Promise<ProcessInfo[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const running = processes.filter(isRunning);
    if (running.length === 0 || Date.now() > deadline) return running;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
