// The faults: N SIGKILLs of a gateway at random moments, and PostgreSQL
// restarts (at least two; immediate and fast shutdowns in turn) spread
// through the run. A kill comes a random while after the one before and
// takes a gateway that is up (waiting for one if none is), now and then one
// that is still starting instead.
import { jitter } from './client.ts';
import type { GatewayPool } from './gateways.ts';
import type { RestartMode, SoakPostgres } from './postgres.ts';
import { sleep } from './procs.ts';

export interface ChaosPlan {
  kills: number;
  /** Mean pause before each kill (on top of waiting for a gateway to be up). */
  intervalMs: number;
  pgRestarts: number;
}

export interface ChaosLog {
  kills: number;
  /** Kills that hit a gateway still starting. */
  killsWhileStarting: number;
  pgRestarts: { mode: RestartMode; downMs: number }[];
}

/** Plays the faults; resolves after the last one. */
export async function runChaos(p: ChaosPlan, pool: GatewayPool, pg: SoakPostgres, log: ChaosLog, onEvent: (what: string) => void): Promise<void> {
  // The restarts go after evenly spread kills (kill 0: before the first one).
  const restartAfter = Array.from({ length: p.pgRestarts }, (_, i) => Math.floor((p.kills * (i + 1)) / (p.pgRestarts + 1)));
  for (let kill = 0; kill <= p.kills; kill++) {
    for (const [i, after] of restartAfter.entries()) {
      if (after !== kill) continue;
      await sleep(jitter(0.3, 1.7) * p.intervalMs);
      const mode: RestartMode = i % 2 === 0 ? 'immediate' : 'fast';
      const downMs = Math.round(jitter(300, 1500));
      onEvent(`PostgreSQL restart ${i + 1}/${p.pgRestarts} (${mode} shutdown, ${downMs} ms down)`);
      await pg.restart(mode, downMs);
      log.pgRestarts = [...pg.restarts];
    }
    if (kill === p.kills) break;
    await sleep(jitter(0.3, 1.7) * p.intervalMs);
    // Mostly a gateway at work (any one: at times none is left up, and the
    // clients wait for one); now and then one that is still starting.
    const starting = pool.slots.filter((s) => s.child && s.state === 'starting');
    let slot = Math.random() < 0.1 ? starting[Math.floor(Math.random() * starting.length)] : undefined;
    for (let tries = 0; !slot && tries < 100; tries++) {
      if (pool.up().length === 0) {
        await pool.waitUntil(() => pool.up().length > 0);
        await sleep(jitter(0, p.intervalMs));
      }
      const up = pool.up();
      slot = up[Math.floor(Math.random() * up.length)];
    }
    if (!slot) continue;
    if (slot.state === 'starting') log.killsWhileStarting++;
    log.kills++;
    await pool.kill(slot);
  }
}
