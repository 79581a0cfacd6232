// The typed client example (examples/typed-client), "compiled in CI": its
// codegen checks every operation against schema.graphql and writes their
// types, tsc checks the example against them (exhaustive switches included),
// and the example then runs against a real gateway (in-process simulator):
// admin flow, a generation followed live to SUCCESS, and errors handled by type.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../helpers/gateway.ts';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..', '..');
const bin = (name: string) => path.join(root, 'node_modules', '.bin', name);
const env = { ...process.env, NO_COLOR: '1' };

/** Runs a command from the repository root; never throws, so a failure shows its output. */
async function sh(file: string, args: string[], extraEnv: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(file, args, { cwd: root, env: { ...env, ...extraEnv }, timeout: 45_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? e.message };
  }
}

describe('examples/typed-client', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('generates its types from schema.graphql and typechecks', async () => {
    const codegen = await sh(process.execPath, ['--import', 'tsx', 'examples/typed-client/codegen.ts']);
    expect(codegen.stderr).toBe('');
    expect(codegen.code).toBe(0);
    const tsc = await sh(bin('tsc'), ['-p', 'examples/typed-client']);
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.code).toBe(0);
  }, 60_000);

  it('runs the tenant and admin flows, follows a task live and handles errors by type', async () => {
    const example = await sh(process.execPath, ['--import', 'tsx', 'examples/typed-client/src/main.ts'], {
      GATEWAY_URL: gw.graphqlUrl,
      ADMIN_TOKEN,
    });
    const out = example.stdout;
    expect(example.stderr).toBe('');
    expect(example.code).toBe(0);
    expect(out).toMatch(/^tenant created: typed-client-\d+ \(/m);
    expect(out).toMatch(/^credits topped up: 100$/m);
    expect(out).toMatch(/^key issued: /m);
    expect(out).toMatch(/^balance: 100 available, 0 held$/m);
    expect(out).toMatch(/^task submitted: \S+ \((SUBMITTING|IN_PROGRESS)\)$/m);
    expect(out).toMatch(/^live status: SUCCESS$/m);
    expect(out).not.toMatch(/^live status: FAILED$/m);
    expect(out).toMatch(/^task ended: SUCCESS, [1-9]\d* result\(s\), [1-9]\d* credits charged$/m);
    // The union branch for InsufficientCreditsError, on a tenant with 0 credits.
    expect(out).toMatch(/^business error handled: INSUFFICIENT_CREDITS: top up first \(needs [1-9]\d*, has 0\)$/m);
    // Top-level extensions.code, switched on exhaustively.
    expect(out).toMatch(/^top-level error handled: tenant key on createTenant: FORBIDDEN \(HTTP 403\): /m);
    expect(out).toMatch(/^top-level error handled: unknown key on me: UNAUTHENTICATED \(HTTP 401\): /m);
    // 4403 is not retried: one close, not retryAttempts of them.
    expect(out).toMatch(/^websocket closed: 4403 after 1 attempt\(s\), not retried$/m);
    expect(out).toMatch(/^done$/m);
  }, 60_000);
});
