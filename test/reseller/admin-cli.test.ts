import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { generateOk, waitForEnd } from '../helpers/tasks.ts';

// `npm run admin` as an operator runs it: a separate process talking to a
// running gateway over HTTP, its output and exit codes. Each run starts tsx
// (a second or two), hence the long timeouts.

const run = promisify(execFile);
const CLI = path.resolve('src/cli/admin.ts');
const TSX = path.resolve('node_modules/.bin/tsx');

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.stop();
});

async function admin(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(TSX, [CLI, ...args], {
      env: { ...process.env, GATEWAY_URL: gw.url, ADMIN_TOKEN, ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('npm run admin', () => {
  it('creates, lists, suspends and reactivates tenants; issues, rotates and revokes keys; moves credits; reports usage and audit', async () => {
    const created = await admin(['tenants', 'create', '--name', 'From the CLI']);
    expect(created.code).toBe(0);
    const tenant = JSON.parse(created.stdout) as { id: string; name: string };
    expect(tenant.name).toBe('From the CLI');

    expect((await admin(['credits', 'top-up', '--tenant', tenant.id, '--amount', '100', '--key', 'cli-1'])).code).toBe(0);
    const adjusted = await admin(['credits', 'adjust', '--tenant', tenant.id, '--amount', '-10', '--reason', 'cli fix', '--key', 'cli-2']);
    expect(JSON.parse(adjusted.stdout)).toMatchObject({ kind: 'ADJUSTMENT', amount: -10, balanceAfter: 90 });

    const issued = await admin(['keys', 'issue', '--tenant', tenant.id, '--name', 'cli', '--scopes', 'read,generate']);
    const key = JSON.parse(issued.stdout) as { secret: string; apiKey: { id: string; scopes: string[] } };
    expect(key.apiKey.scopes).toEqual(['READ', 'GENERATE']);
    const task = await generateOk(gw, key.secret, 'textToImage', { prompt: 'from a cli key' });
    await waitForEnd(gw, key.secret, task.id);

    const listed = await admin(['tenants', 'list']);
    expect(listed.stdout.split('\n')[0]).toMatch(/^id\s+name\s+status\s+available\s+createdAt$/);
    expect(listed.stdout).toMatch(/From the CLI\s+ACTIVE\s+85/);

    const suspended = await admin(['tenants', 'suspend', '--tenant', tenant.id, '--reason', 'cli test']);
    expect(JSON.parse(suspended.stdout)).toMatchObject({ status: 'SUSPENDED', suspendedReason: 'cli test' });
    expect(JSON.parse((await admin(['tenants', 'reactivate', '--tenant', tenant.id])).stdout)).toMatchObject({ status: 'ACTIVE' });

    const rotated = JSON.parse((await admin(['keys', 'rotate', '--key', key.apiKey.id, '--grace', '60'])).stdout) as { apiKey: { id: string } };
    expect((await admin(['keys', 'revoke', '--key', rotated.apiKey.id])).code).toBe(0);

    const day = new Date().toISOString().slice(0, 10);
    const window = ['--from', `${day}T00:00:00Z`, '--to', new Date(Date.now() + 86_400_000).toISOString(), '--tenant', tenant.id];
    const usage = await admin(['usage', ...window]);
    expect(usage.stdout).toMatch(new RegExp(`${day}\\s+From the CLI\\s+TEXT_TO_IMAGE\\s+1\\s+1\\s+0\\s+5\\s+0\\s+5\\s+0`));
    const usageCsv = await admin(['usage', ...window, '--csv']);
    expect(usageCsv.stdout.trim().split('\n')).toEqual([
      'day,tenant,model,tasks,succeeded,failed,creditsCharged,creditsRefunded,upstreamCredits,margin',
      `${day},From the CLI,TEXT_TO_IMAGE,1,1,0,5,0,5,0`,
    ]);

    const audit = await admin(['audit', '--tenant', tenant.id]);
    const actions = audit.stdout.trim().split('\n').slice(1).map((line) => line.split(/\s+/)[1]);
    expect(actions).toEqual(['apiKey.revoke', 'apiKey.rotate', 'tenant.reactivate', 'tenant.suspend', 'apiKey.issue', 'credits.adjust', 'credits.topUp', 'tenant.create']);
    expect(audit.stdout).not.toContain(key.secret);

    const health = await admin(['upstream-health']);
    expect(JSON.parse(health.stdout)).toMatchObject({ state: 'OK' });

    const limited = await admin(['keys', 'issue', '--tenant', tenant.id, '--credit-limit', '50', '--period', 'day']);
    expect(JSON.parse(limited.stdout)).toMatchObject({ apiKey: { creditLimit: 50, creditLimitPeriod: 'DAY' } });
    const reconciled = await admin(['reconciliation', '--from', `${day}T00:00:00Z`, '--to', new Date(Date.now() + 86_400_000).toISOString()]);
    expect(reconciled.code).toBe(0);
    expect(JSON.parse(reconciled.stdout)).toMatchObject({ tasksChecked: expect.any(Number), mismatches: 0, corrected: 0, driftCredits: 0 });
  }, 180_000);

  it('exit codes: 1 with the code when the gateway refuses, 2 for bad usage, 3 when it cannot be reached', async () => {
    const t = await gw.createTenant('cli-errors', 5);
    const refused = await admin(['credits', 'adjust', '--tenant', t.id, '--amount', '-6', '--reason', 'too much', '--key', 'x']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: INSUFFICIENT_CREDITS: /);
    const invalid = await admin(['tenants', 'suspend', '--tenant', 'not-an-id', '--reason', 'x']);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/VALIDATION/);
    const unauthorized = await admin(['tenants', 'list'], { ADMIN_TOKEN: 'wrong-token-0123456789' });
    expect(unauthorized.code).toBe(1);
    expect(unauthorized.stderr).toMatch(/UNAUTHENTICATED/);

    const usage = await admin(['tenants', 'suspend', '--tenant', t.id]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--reason is required/);
    expect((await admin(['frobnicate'])).code).toBe(2);
    expect((await admin(['tenants', 'list'], { ADMIN_TOKEN: '' })).code).toBe(2);

    const unreachable = await admin(['tenants', 'list'], { GATEWAY_URL: 'http://127.0.0.1:9' });
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toMatch(/cannot reach/);
  }, 120_000);
});
