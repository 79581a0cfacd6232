// Credentials live in sessionStorage only: they last as long as the tab and
// are never written to localStorage, cookies or the URL. Newly issued
// secrets are not stored at all (they stay in component state until
// dismissed).
export type Role = 'admin' | 'tenant';

const KEYS: Record<Role, string> = { admin: 'gateway-console.admin-token', tenant: 'gateway-console.tenant-key' };

export function loadCredential(role: Role): string | null {
  try {
    return sessionStorage.getItem(KEYS[role]);
  } catch {
    return null;
  }
}

export function saveCredential(role: Role, value: string): void {
  try {
    sessionStorage.setItem(KEYS[role], value);
  } catch {
    // Storage refused (private mode): the credential lasts until reload.
  }
}

export function clearCredential(role: Role): void {
  try {
    sessionStorage.removeItem(KEYS[role]);
  } catch {
    // Nothing stored.
  }
}

/** An idempotency key: random, and made without crypto.randomUUID, which plain-http origins lack. */
export function newIdempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `console-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
