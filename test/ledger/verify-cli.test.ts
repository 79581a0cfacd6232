import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topUp } from '../../src/ledger/credits.ts';
import { notifyAnnouncer } from '../../src/db/announce.ts';
import { createTenant } from '../../src/tenants/service.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

function runVerify(): { status: number | null; out: string } {
  const result = spawnSync('npm', ['run', '--silent', 'ledger:verify'], {
    env: { ...process.env, DATABASE_URL: database.url, LOG_LEVEL: 'silent' },
    encoding: 'utf8',
  });
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

describe('npm run ledger:verify', () => {
  it('exits 0 on a sound ledger and 1, naming the invariant, on a violation', async () => {
    const tenant = await createTenant(database.prisma, { name: 'cli' });
    await topUp({ db: database.prisma, announcer: notifyAnnouncer }, { tenantId: tenant.id, amount: 10, idempotencyKey: 'k' });
    const ok = runVerify();
    expect(ok.out).toContain('all invariants hold');
    expect(ok.status).toBe(0);

    await database.prisma.$executeRaw`UPDATE account SET available = 11 WHERE tenant_id = ${tenant.id}::uuid`;
    const bad = runVerify();
    expect(bad.status).toBe(1);
    expect(bad.out).toContain("each tenant account's balance equals the sum of its entries");
  }, 60_000);
});
