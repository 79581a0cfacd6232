// The processes around the soak's clients: the simulator, the gateways'
// configuration, `ledger:verify`, and what their exits say at the end.
import type { Check } from './checks.ts';
import type { ChaosLog } from './chaos.ts';
import type { GatewayPool } from './gateways.ts';
import { sleep, spawnTs, type Child } from './procs.ts';

export const ADMIN_TOKEN = 'soak-admin-token-0123456789abcdef';
/** Delays between webhook attempts: four attempts, then FAILED, within a second and a half. */
export const WEBHOOK_SCHEDULE = [200, 400, 800];

export async function startSimulator(seed: string): Promise<{ child: Child; url: string; apiKey: string; controlUrl: string }> {
  let ready: { url: string; apiKey: string; controlUrl: string } | null = null;
  const child = spawnTs(
    'simulator',
    'scripts/soak/simulator.ts',
    {
      SIMULATOR_SEED: seed,
      SIMULATOR_CREDITS: '1000000000',
      SIMULATOR_FAILURE_RATE: '0.15',
      SIMULATOR_ERROR_RATE: '0.05',
      SIMULATOR_RATE_LIMIT: '60',
      SIMULATOR_LATENCY_MS: JSON.stringify({ default: '100-600', 'grok-imagine/text-to-video': '300-1500', 'grok-imagine/image-to-video': '300-1500' }),
    },
    (line) => {
      if (line.startsWith('{"ready"')) ready = JSON.parse(line) as typeof ready;
    },
  );
  for (let i = 0; !ready && child.alive() && i < 600; i++) await sleep(50);
  if (!ready) throw new Error(`the simulator did not start:\n${child.tail().join('\n')}`);
  return { child, ...(ready as { url: string; apiKey: string; controlUrl: string }) };
}

export function gatewayEnv(databaseUrl: string, upstream: { url: string; apiKey: string }, dataDir: string): Record<string, string> {
  return {
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    DATA_DIR: dataDir,
    ADMIN_TOKEN,
    SEED_DEMO_TENANT: 'false',
    LOG_LEVEL: 'warn',
    UPSTREAM_URL: upstream.url,
    UPSTREAM_API_KEY: upstream.apiKey,
    UPSTREAM_TIMEOUT_MS: '3000',
    UPSTREAM_RETRY_DEADLINE_MS: '4000',
    TASK_SUBMIT_TIMEOUT_MS: '8000',
    TASK_LEASE_MS: '2000',
    TASK_POLL_INITIAL_MS: '200',
    TASK_POLL_MAX_MS: '1000',
    TASK_POLL_INTERVAL_MS: '100',
    TENANT_MAX_IN_FLIGHT: '25',
    TENANT_RATE_PER_MINUTE: '6000',
    SSRF_ALLOW_HOSTS: '127.0.0.1,localhost',
    WEBHOOK_RETRY_SCHEDULE_MS: WEBHOOK_SCHEDULE.join(','),
    WEBHOOK_TIMEOUT_MS: '500',
    WEBHOOK_POLL_INTERVAL_MS: '100',
    WEBHOOK_LEASE_MS: '5000',
    WS_KEEPALIVE_MS: '5000',
    WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '200',
    SHUTDOWN_TIMEOUT_MS: '3000',
  };
}

/** A crashed process's last words: from its first line that is not a JSON log line, indented. */
function crashLines(tail: string[]): string {
  const from = tail.findIndex((l) => !l.startsWith('{') && l.trim() !== '' && !/Grok Imagine|GraphQL:|WebSocket:|Admin token/.test(l));
  return tail
    .slice(from < 0 ? -10 : from)
    .slice(0, 25)
    .map((l) => `         | ${l.slice(0, 300)}`)
    .join('\n');
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

export async function ledgerVerify(databaseUrl: string): Promise<Check> {
  const child = spawnTs('ledger-verify', 'src/ledger/cli-verify.ts', { DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' });
  const { code } = await child.exited;
  const out = child.tail().filter((l) => l.trim() !== '');
  return { name: '`ledger:verify` clean', ok: code === 0 && out.some((l) => l.includes('all invariants hold')), lines: [`exit ${code}: ${out.slice(-5).join(' | ')}`] };
}

export function checkFaults(r: {
  kills: number;
  chaos: ChaosLog;
  pool: GatewayPool;
  stops: { index: number; code: number | null; signal: string | null }[];
  simCrashed: boolean;
}): Check {
  const { chaos, pool, stops } = r;
  return {
    name: 'faults: N kills, PostgreSQL restarted at least twice; no process crashed',
    ok:
      chaos.kills === r.kills &&
      chaos.pgRestarts.length >= 2 &&
      pool.slots.every((s) => s.crashes.length === 0) &&
      stops.every((s) => s.code === 0) &&
      !r.simCrashed,
    lines: [
      `kills ${chaos.kills} (${chaos.killsWhileStarting} of a gateway still starting); PostgreSQL restarts ${chaos.pgRestarts.map((p) => `${p.mode} ${p.downMs} ms`).join(', ')}`,
      ...pool.slots.map(
        (s) =>
          `gateway ${s.index}: started ${s.starts} times (${s.failedStarts} failed to start; ready in median ${median(s.startMs)} ms, max ${Math.max(0, ...s.startMs)} ms), killed ${s.kills}, crashed ${s.crashes.length}, final SIGTERM exit ${stops[s.index]?.code ?? stops[s.index]?.signal}`,
      ),
      `no gateway up for ${(pool.noneUpMs / 1000).toFixed(1)} s in all${r.simCrashed ? '; BAD the simulator died' : ''}`,
      ...pool.slots.flatMap((s) => s.crashes.map((c) => `BAD gateway ${s.index} exited by itself (${c.code ?? c.signal}); its last lines:\n${crashLines(c.tail)}`)),
      `gateway error logs: ${[...pool.logs.errors].map(([msg, n]) => `${n} x "${msg}"`).join('; ') || 'none'}`,
    ],
  };
}
