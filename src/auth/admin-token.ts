import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * The admin token: ADMIN_TOKEN when configured, else one generated on first
 * start and kept in DATA_DIR/admin-token (mode 0600) so it survives restarts.
 * Never in production: there the configuration requires ADMIN_TOKEN.
 */
export async function resolveAdminToken(
  configured: string | null,
  dataDir: string,
): Promise<{ token: string; generated: boolean }> {
  if (configured) return { token: configured, generated: false };
  const file = path.join(dataDir, 'admin-token');
  try {
    const saved = (await readFile(file, 'utf8')).trim();
    if (saved.length >= 16) return { token: saved, generated: true };
  } catch {
    // not generated yet
  }
  const token = `gkadmin_${randomBytes(24).toString('base64url')}`;
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  return { token, generated: true };
}
