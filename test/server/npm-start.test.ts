import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gql } from '../helpers/graphql.ts';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

let child: ChildProcess | undefined;
let dataDir: string | undefined;
afterAll(async () => {
  if (child?.pid && child.exitCode === null) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** Waits until the banner has printed what we need, or the process exits. */
function waitForBanner(proc: ChildProcess, output: { text: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (/Demo tenant key: gk_/.test(output.text)) resolve();
    };
    proc.stderr!.on('data', (chunk: Buffer) => {
      output.text += chunk.toString();
      check();
    });
    proc.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output.text}`)));
  });
}

describe('npm start on embedded defaults', () => {
  it('starts with no database configured, prints the admin token, and serves a key issued with it', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'gateway-start-'));
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'info' };
    for (const name of ['DATABASE_URL', 'ADMIN_TOKEN', 'REDIS_URL', 'UPSTREAM_API_KEY', 'NODE_ENV', 'VITEST', 'VITEST_WORKER_ID']) delete env[name];
    // Its own process group, so a signal reaches npm and the gateway under it, as Ctrl-C would.
    child = spawn('npm', ['start', '--silent'], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let logs = '';
    child.stdout!.on('data', (chunk: Buffer) => (logs += chunk.toString()));
    const output = { text: '' };
    await waitForBanner(child, output);

    expect(output.text).toContain(`http://127.0.0.1:${port}/graphql`);
    // The console's URL is printed, and it answers with the built page.
    expect(output.text).toContain(`Console:  http://127.0.0.1:${port}/console`);
    const consolePage = await fetch(`http://127.0.0.1:${port}/console/`);
    expect(consolePage.status).toBe(200);
    expect(consolePage.headers.get('content-type')).toContain('text/html');
    const adminToken = /Admin token \(kept in [^)]*\): (\S+)/.exec(output.text)?.[1];
    expect(adminToken).toBeTruthy();
    const url = `http://127.0.0.1:${port}/graphql`;

    const created = await gql<{ createTenant: { data: { id: string } } }>(
      url,
      `mutation { createTenant(input: { name: "from-start" }) { ... on MutationCreateTenantSuccess { data { id } } } }`,
      { token: adminToken },
    );
    const tenantId = created.data!.createTenant.data.id;
    await gql(url, `mutation($id: ID!) { topUpCredits(input: { tenantId: $id, amount: 42, idempotencyKey: "start" }) { __typename } }`, {
      token: adminToken,
      variables: { id: tenantId },
    });
    const issued = await gql<{ issueApiKey: { data: { secret: string } } }>(
      url,
      `mutation($id: ID!) { issueApiKey(input: { tenantId: $id }) { ... on MutationIssueApiKeySuccess { data { secret } } } }`,
      { token: adminToken, variables: { id: tenantId } },
    );
    const me = await gql<{ me: { balance: { available: number } } }>(url, `{ me { balance { available } } }`, {
      token: issued.data!.issueApiKey.data.secret,
    });
    expect(me.data).toEqual({ me: { balance: { available: 42 } } });

    // The printed demo key works too.
    const demoKey = /Demo tenant key: (\S+)/.exec(output.text)![1]!;
    const demo = await gql<{ me: { balance: { available: number } } }>(url, `{ me { balance { available } } }`, { token: demoKey });
    expect(demo.data!.me.balance.available).toBeGreaterThan(0);

    // SIGTERM stops it cleanly: the gateway logs its shutdown and closes its output.
    const closed = new Promise<void>((resolve) => child!.once('close', () => resolve()));
    process.kill(-child.pid!, 'SIGTERM');
    await closed;
    const messages = logs.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(messages, `log messages: ${JSON.stringify(messages)}\nstderr:\n${output.text}`).toContain('shutting down');
    expect(messages.at(-1), `stderr:\n${output.text}`).toBe('stopped');
  }, 180_000);
});
