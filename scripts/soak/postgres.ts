// The soak's own PostgreSQL: the project's embedded server (src/db/embedded.ts)
// on a throwaway data directory and a port of its own, so the soak can
// restart it under the gateways: a fast shutdown (SIGINT, what `stop()`
// sends) or an immediate one (SIGQUIT, as a crash: recovery runs at start).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded.ts';
import { applyMigrations } from '../../src/db/migrate.ts';
import { withDatabase } from '../../src/db/migration-adapter.ts';
import { sleep } from './procs.ts';

export type RestartMode = 'fast' | 'immediate';

export class SoakPostgres {
  private handle: EmbeddedPostgres | null = null;
  private port = 0;
  restarts: { mode: RestartMode; downMs: number }[] = [];

  constructor(private readonly dataDir: string) {}

  /** Starts the server (any free port the first time, the same one after). */
  async start(): Promise<void> {
    this.handle = await startEmbeddedPostgres({ dataDir: this.dataDir, port: this.port, ephemeral: true });
    this.port = this.handle.port;
  }

  /** Creates the soak's database and applies every migration, as bench/lib.ts does. */
  async createDatabase(name: string): Promise<string> {
    const client = new pg.Client({ connectionString: this.adminUrl });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE "${name}"`);
      // The server runs with fsync and synchronous_commit off (ephemeral): quick, and
      // safe against a crash of PostgreSQL itself (not of the machine) only with
      // synchronous commits, or an immediate shutdown loses committed work.
      await client.query(`ALTER DATABASE "${name}" SET synchronous_commit = on`);
    } finally {
      await client.end();
    }
    const url = withDatabase(this.adminUrl, name);
    await applyMigrations(url);
    return url;
  }

  get adminUrl(): string {
    if (!this.handle) throw new Error('PostgreSQL is not running');
    return this.handle.url;
  }

  /** Down, `downMs` of nothing, up again on the same port. */
  async restart(mode: RestartMode, downMs: number): Promise<void> {
    const started = Date.now();
    if (mode === 'fast') {
      await this.handle?.stop();
    } else {
      const pid = await this.postmasterPid();
      if (pid) {
        process.kill(pid, 'SIGQUIT');
        while (isAlive(pid)) await sleep(20);
      }
    }
    this.handle = null;
    await sleep(downMs);
    await this.start();
    this.restarts.push({ mode, downMs: Date.now() - started });
  }

  async stop(): Promise<void> {
    const handle = this.handle;
    this.handle = null;
    await handle?.stop();
  }

  /** For exit paths that cannot wait: an immediate shutdown of the server, if one runs. */
  async killNow(): Promise<void> {
    const pid = await this.postmasterPid();
    if (pid && isAlive(pid)) process.kill(pid, 'SIGQUIT');
  }

  private async postmasterPid(): Promise<number | null> {
    const text = await readFile(path.join(this.dataDir, 'postmaster.pid'), 'utf8').catch(() => '');
    const pid = Number(text.split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
