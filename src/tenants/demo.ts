import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { issueApiKey } from '../auth/api-keys.ts';
import { hashSecret } from '../auth/secrets.ts';
import type { Store } from '../db/announce.ts';
import { topUp } from '../ledger/credits.ts';
import { createTenant } from './service.ts';

export const DEMO_CREDITS = 1000;

/**
 * A demo tenant for `npm start`: created once with DEMO_CREDITS credits, its
 * key kept in DATA_DIR/demo-tenant-key so every start can print it. If the
 * saved key no longer works (revoked, or a new database), a new one is made.
 */
export async function ensureDemoTenant(store: Store, dataDir: string): Promise<{ tenantId: string; secret: string }> {
  const file = path.join(dataDir, 'demo-tenant-key');
  const { db } = store;
  try {
    const saved = (await readFile(file, 'utf8')).trim();
    const key = await db.apiKey.findUnique({ where: { hash: hashSecret(saved) } });
    if (key?.tenantId && !key.revokedAt) return { tenantId: key.tenantId, secret: saved };
  } catch {
    // no saved key yet
  }
  const tenant = await createTenant(db, { name: 'Demo tenant' });
  await topUp(store, { tenantId: tenant.id, amount: DEMO_CREDITS, idempotencyKey: 'demo-seed', note: 'Demo credits' });
  const { secret } = await issueApiKey(db, { tenantId: tenant.id, name: 'demo' });
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  return { tenantId: tenant.id, secret };
}
