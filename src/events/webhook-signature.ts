// Webhook signatures as Standard Webhooks define them
// (https://www.standardwebhooks.com/), so a receiver can verify ours with an
// off-the-shelf library (standardwebhooks, svix) instead of our own code:
//   signed content  `${webhook-id}.${webhook-timestamp}.${body}`
//   key             base64-decoded secret after the `whsec_` prefix
//   header          `v1,<base64 HMAC-SHA256>`, several space-separated allowed
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const WEBHOOK_SECRET_PREFIX = 'whsec_';
export const WEBHOOK_USER_AGENT = 'grok-imagine-gateway-webhooks/1.0';
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

/** `whsec_` + base64 of 32 random bytes (the size Standard Webhooks recommends at least). */
export function generateWebhookSecret(): string {
  return WEBHOOK_SECRET_PREFIX + randomBytes(32).toString('base64');
}

function secretKey(secret: string): Buffer {
  // The prefix is optional, as in the reference libraries.
  const encoded = secret.startsWith(WEBHOOK_SECRET_PREFIX) ? secret.slice(WEBHOOK_SECRET_PREFIX.length) : secret;
  const key = Buffer.from(encoded, 'base64');
  if (key.length === 0) throw new Error('invalid webhook secret: expected whsec_ followed by base64');
  return key;
}

function digest(secret: string, msgId: string, timestampSeconds: number, body: string): Buffer {
  return createHmac('sha256', secretKey(secret)).update(`${msgId}.${timestampSeconds}.${body}`).digest();
}

/** The `webhook-signature` header value for one message: `v1,<base64>`. */
export function signWebhook(secret: string, msgId: string, timestampSeconds: number, body: string): string {
  return `v1,${digest(secret, msgId, timestampSeconds, body).toString('base64')}`;
}

/**
 * Headers for one delivery attempt. The timestamp is the attempt's, not the
 * event's: a retry hours later must still pass the receiver's tolerance, while
 * `webhook-id` stays the same so the receiver can deduplicate.
 */
export function webhookHeaders(secret: string, msgId: string, body: string, now: Date = new Date()): Record<string, string> {
  const timestamp = Math.floor(now.getTime() / 1000);
  return {
    'content-type': 'application/json',
    'user-agent': WEBHOOK_USER_AGENT,
    'webhook-id': msgId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signWebhook(secret, msgId, timestamp, body),
  };
}

export interface VerifyOptions {
  /** How far the timestamp may be from `now`, either way. Default 300. */
  toleranceSeconds?: number;
  now?: Date;
}

/**
 * Checks a received webhook; returns nothing when it is genuine and throws
 * WebhookVerificationError otherwise. `body` must be the raw bytes received,
 * not a re-serialisation of the parsed JSON. Header names are matched
 * case-insensitively, so `req.headers` of node:http can be passed directly.
 */
export function verifyWebhook(
  secret: string,
  headers: Record<string, string | string[] | undefined>,
  body: string,
  opts: VerifyOptions = {},
): void {
  // Accepts node:http's IncomingHttpHeaders as is (a repeated header is an array).
  const lower: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers)) lower[name.toLowerCase()] = Array.isArray(value) ? value[0] : value;
  const msgId = lower['webhook-id'];
  const timestampHeader = lower['webhook-timestamp'];
  const signatureHeader = lower['webhook-signature'];
  if (!msgId || !timestampHeader || !signatureHeader) throw new WebhookVerificationError('Missing required headers');

  if (!/^\d{1,15}$/.test(timestampHeader)) throw new WebhookVerificationError('Invalid timestamp');
  const timestamp = Number(timestampHeader);
  const now = Math.floor((opts.now ?? new Date()).getTime() / 1000);
  const tolerance = opts.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  // Too old is a replay; too new is a clock or forgery problem. Both fail.
  if (timestamp < now - tolerance) throw new WebhookVerificationError('Message timestamp too old');
  if (timestamp > now + tolerance) throw new WebhookVerificationError('Message timestamp too new');

  const expected = digest(secret, msgId, timestamp, body);
  for (const entry of signatureHeader.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== 'v1') continue;
    const candidate = Buffer.from(entry.slice(comma + 1), 'base64');
    if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) return;
  }
  throw new WebhookVerificationError('No matching signature found');
}
