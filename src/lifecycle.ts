// One shutdown per process, whichever asks for it: SIGTERM, SIGINT, or the
// process itself (a cluster primary whose workers keep crashing). Every kind
// of gateway process uses it: one process alone, a cluster's primary, each
// of its workers (src/main.ts, src/cluster/).
import { startGateway, type Gateway } from './app.ts';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';

export interface Lifecycle {
  /** True once the shutdown has begun. */
  readonly stopping: boolean;
  /** Begins the one shutdown, as a signal does; later calls are logged and ignored. */
  shutdown(reason: string): void;
  /** Writes out the last log lines, then exits. */
  exit(code: number): Promise<never>;
}

export function manageLifecycle(options: {
  logger: Logger;
  /** The watchdog: if closing takes longer (a dead database, say), the process exits 1 anyway. */
  watchdogMs: number;
  /** Closes everything; a rejection is logged and makes the exit code 1. */
  stop(): Promise<void>;
  /** Run by the watchdog just before it exits. */
  onTimeout?(): void;
}): Lifecycle {
  const { logger } = options;
  let stopping: Promise<void> | undefined;

  // Logs are written asynchronously: the last lines go out before the process does.
  async function exit(code: number): Promise<never> {
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    process.exit(code);
  }

  function shutdown(reason: string): void {
    // One shutdown, whatever arrives next: a signal can come twice (from npm and
    // from the terminal's process group), and a second shutdown racing the first
    // would exit before the first has closed the database.
    if (stopping) {
      logger.info(describe(reason), 'shutdown already in progress');
      return;
    }
    stopping = run(reason);
  }

  async function run(reason: string): Promise<void> {
    logger.info(describe(reason), 'shutting down');
    setTimeout(() => {
      logger.error('shutdown timed out; exiting');
      options.onTimeout?.();
      void exit(1);
    }, options.watchdogMs).unref();
    let code = 0;
    try {
      await options.stop();
      logger.info('stopped');
    } catch (error) {
      // Said, not lost: an unhandled rejection here would end the process before its logs are written.
      logger.error({ err: error }, 'shutdown failed');
      code = 1;
    }
    await exit(code);
  }

  // Installed before anything has started, so a signal during start-up
  // (migrations, say) still closes what has started instead of killing the
  // process outright.
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  return {
    get stopping() {
      return stopping !== undefined;
    },
    shutdown,
    exit,
  };
}

function describe(reason: string): { signal: string } | { reason: string } {
  return reason.startsWith('SIG') ? { signal: reason } : { reason };
}

/**
 * Starts a gateway under one shutdown (a lone process, or a cluster's
 * worker): the gateway once it answers, or null when a signal came during
 * start-up (the shutdown under way closes what started). A start that fails
 * is logged and ends the process with 1; startGateway has already closed
 * whatever it had started.
 */
export async function startManaged(config: Config, logger: Logger, options: { migrate?: boolean } = {}): Promise<Gateway | null> {
  const started = startGateway(config, { logger, ...options });
  const lifecycle = manageLifecycle({
    logger,
    watchdogMs: config.shutdownTimeoutMs + 5000,
    stop: async () => (await started).close(),
  });
  const gateway = await started.catch((error: unknown) => {
    logger.fatal({ err: error }, 'gateway failed to start');
    return lifecycle.exit(1);
  });
  return lifecycle.stopping ? null : gateway;
}
