import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

// API keys are 256-bit random secrets with a readable prefix that says what
// they are (`gk_` tenant, `gka_` admin), so leaked keys are easy to spot in
// code scanning. Only their SHA-256 is stored: with this much entropy a fast
// hash is safe, and it lets a key be looked up by its hash in one index probe.

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export const KEY_PREFIX = { TENANT: 'gk_', ADMIN: 'gka_' } as const;

/** How many characters of a secret are kept, in clear, as its display prefix. */
const DISPLAY_CHARS = 8;

function base62(bytes: Buffer): string {
  let out = '';
  // Rejection sampling keeps every character uniformly distributed.
  for (const byte of bytes) if (byte < 248) out += ALPHABET[byte % 62];
  return out;
}

export function generateSecret(role: keyof typeof KEY_PREFIX): string {
  let body = '';
  while (body.length < 43) body += base62(randomBytes(48));
  return KEY_PREFIX[role] + body.slice(0, 43);
}

export function displayPrefix(secret: string): string {
  const role = secret.startsWith(KEY_PREFIX.ADMIN) ? KEY_PREFIX.ADMIN : KEY_PREFIX.TENANT;
  return secret.slice(0, role.length + DISPLAY_CHARS);
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Constant-time comparison of two hashSecret digests. */
export function hashesEqual(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** Constant-time comparison of two secrets of any length. */
export function secretsEqual(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/** The token of an `Authorization: Bearer <token>` value, or null. */
export function bearerToken(header: string | null | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}
