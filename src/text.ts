// What text PostgreSQL can store, for every place text from outside reaches a
// column: tenants' input (schema/storable-text.ts refuses it as VALIDATION),
// upstream's answers and webhook receivers' replies (stored as a safe
// rendition). PostgreSQL's text types cannot hold U+0000 (SQLSTATE 22021),
// and a JavaScript string with a lone surrogate is not Unicode at all: the
// driver would store U+FFFD in its place, so two different keys could become
// one. Both are facts of the database, not of any one field.

/** Why `text` cannot be stored as it is, or null when it can. */
export function unstorableReason(text: string): string | null {
  if (text.includes('\u0000')) return 'contains a NUL character (U+0000), which cannot be stored';
  if (!text.isWellFormed()) return 'is not valid Unicode (it contains a lone surrogate)';
  return null;
}

// C0 controls but tab, newline and carriage return, and DEL: shown escaped.
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g;

/**
 * A safe, bounded rendition of text someone else sent (a receiver's reply, an
 * upstream message): well-formed, controls shown as `\xNN`, at most
 * `maxChars` code points, with `…` when cut. Always storable and printable.
 */
export function rendition(text: string, maxChars = 1000): string {
  const escaped = text.toWellFormed().replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  const points = Array.from(escaped);
  return points.length <= maxChars ? escaped : `${points.slice(0, maxChars - 1).join('')}…`;
}
