import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.ts';
import { NotFoundError } from '../../src/errors.ts';
import { rotateWebhookSecret, webhookSecretFor } from '../../src/events/webhook-secrets.ts';
import {
  generateWebhookSecret,
  signWebhook,
  verifyWebhook,
  WebhookVerificationError,
  webhookHeaders,
} from '../../src/events/webhook-signature.ts';
import { createTenant } from '../../src/tenants/service.ts';
import { createTestDatabase } from '../helpers/db.ts';

// The test vector of the Standard Webhooks reference libraries (and Svix's):
// reproducing it is what tells us off-the-shelf verifiers accept our signatures.
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  msgId: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  payload: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

describe('webhook signatures', () => {
  it('reproduces the Standard Webhooks test vector', () => {
    expect(signWebhook(VECTOR.secret, VECTOR.msgId, VECTOR.timestamp, VECTOR.payload)).toBe(VECTOR.signature);
    // The whsec_ prefix is optional, as in the reference libraries.
    expect(signWebhook(VECTOR.secret.slice(6), VECTOR.msgId, VECTOR.timestamp, VECTOR.payload)).toBe(VECTOR.signature);
    const headers = {
      'webhook-id': VECTOR.msgId,
      'webhook-timestamp': String(VECTOR.timestamp),
      'webhook-signature': `v1,bm9wZQ== v2,abc ${VECTOR.signature}`,
    };
    expect(() => verifyWebhook(VECTOR.secret, headers, VECTOR.payload, { now: new Date(VECTOR.timestamp * 1000) })).not.toThrow();
  });

  it('generates whsec_ secrets of 32 random bytes', () => {
    const secret = generateWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    expect(generateWebhookSecret()).not.toBe(secret);
  });

  it('round-trips: headers from webhookHeaders verify with the same secret', () => {
    const secret = generateWebhookSecret();
    const body = JSON.stringify({ id: 't1', status: 'SUCCESS', resultUrls: ['https://cdn.example/x.png'] });
    const headers = webhookHeaders(secret, 'msg_1', body);
    expect(headers).toMatchObject({ 'content-type': 'application/json', 'webhook-id': 'msg_1' });
    expect(headers['user-agent']).toBeTruthy();
    expect(() => verifyWebhook(secret, headers, body)).not.toThrow();
    // Header names are case-insensitive, as HTTP's are.
    const upper = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
    expect(() => verifyWebhook(secret, upper, body)).not.toThrow();
  });

  it('rejects a tampered body, another secret, a changed id and missing headers', () => {
    const secret = generateWebhookSecret();
    const body = '{"status":"SUCCESS"}';
    const headers = webhookHeaders(secret, 'msg_1', body);
    const rejects = (s: string, h: Record<string, string | undefined>, b: string) =>
      expect(() => verifyWebhook(s, h, b)).toThrow(WebhookVerificationError);
    rejects(secret, headers, '{"status":"FAILED"}');
    rejects(secret, headers, `${body} `);
    rejects(generateWebhookSecret(), headers, body);
    rejects(secret, { ...headers, 'webhook-id': 'msg_2' }, body);
    rejects(secret, { ...headers, 'webhook-signature': undefined }, body);
    rejects(secret, { ...headers, 'webhook-signature': 'v1,' }, body);
    rejects(secret, { ...headers, 'webhook-timestamp': 'soon' }, body);
  });

  it('rejects timestamps outside the tolerance, either way', () => {
    const secret = generateWebhookSecret();
    const body = '{}';
    const sentAt = new Date('2026-01-01T00:00:00Z');
    const headers = webhookHeaders(secret, 'msg_1', body, sentAt);
    const at = (seconds: number) => new Date(sentAt.getTime() + seconds * 1000);
    expect(() => verifyWebhook(secret, headers, body, { now: at(299) })).not.toThrow();
    expect(() => verifyWebhook(secret, headers, body, { now: at(301) })).toThrow(/too old/);
    expect(() => verifyWebhook(secret, headers, body, { now: at(-301) })).toThrow(/too new/);
    expect(() => verifyWebhook(secret, headers, body, { now: at(3600), toleranceSeconds: 7200 })).not.toThrow();
  });
});

describe('tenant webhook secrets', () => {
  let db: Db;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const database = await createTestDatabase();
    db = database.prisma;
    drop = database.drop;
  });
  afterAll(async () => {
    await drop?.();
  });

  it('creates a secret lazily, keeps it, and replaces it on rotation', async () => {
    const tenant = await createTenant(db, { name: 'hooks' });
    const lazy = await webhookSecretFor(db, tenant.id);
    expect(lazy).toMatch(/^whsec_/);
    expect(await webhookSecretFor(db, tenant.id)).toBe(lazy);
    expect((await db.tenant.findUniqueOrThrow({ where: { id: tenant.id } })).webhookSecretRotatedAt).toBeNull();

    const rotated = await rotateWebhookSecret(db, tenant.id);
    expect(rotated.secret).not.toBe(lazy);
    expect(await webhookSecretFor(db, tenant.id)).toBe(rotated.secret);
    const row = await db.tenant.findUniqueOrThrow({ where: { id: tenant.id } });
    expect(row.webhookSecretRotatedAt?.getTime()).toBe(rotated.rotatedAt.getTime());
  });

  it('agrees on one secret when first uses race', async () => {
    const tenant = await createTenant(db, { name: 'race' });
    const secrets = await Promise.all(Array.from({ length: 5 }, () => webhookSecretFor(db, tenant.id)));
    expect(new Set(secrets).size).toBe(1);
  });

  it('throws NotFoundError for an unknown tenant', async () => {
    await expect(rotateWebhookSecret(db, '00000000-0000-4000-8000-000000000000')).rejects.toBeInstanceOf(NotFoundError);
    await expect(webhookSecretFor(db, '00000000-0000-4000-8000-000000000000')).rejects.toBeInstanceOf(NotFoundError);
  });
});
