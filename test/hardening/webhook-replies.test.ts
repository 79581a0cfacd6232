// Finding 1 of the hardening issue: a receiver answering 500 with a NUL byte
// or invalid UTF-8 in its body made recording the attempt fail (22021); the
// delivery stayed PENDING with attempts 0 and was re-sent forever. Now the
// attempt log keeps a safe, bounded rendition of the reply, and the schedule
// advances to FAILED even when the log line cannot be written at all.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { unstorableReason } from '../../src/text.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { rowId } from '../helpers/graphql.ts';
import { generateOk, waitForEnd } from '../helpers/tasks.ts';

/** A receiver that always answers 500 with a hostile body: NUL, invalid UTF-8, controls, and 5 KB more. */
const HOSTILE = Buffer.concat([Buffer.from('oops\u0000'), Buffer.from([0xc0, 0x80, 0xff, 0xfe, 0x1b]), Buffer.from('x'.repeat(5000))]);

let gw: TestGateway;
let receiver: Server;
let url: string;
beforeAll(async () => {
  // Four attempts in all: one at once, then after 50, 100 and 200 ms.
  gw = await startTestGateway({ WEBHOOK_RETRY_SCHEDULE_MS: '50,100,200' });
  receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(500, { 'content-type': 'text/plain' }).end(HOSTILE));
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  receiver?.closeAllConnections();
  receiver?.close();
  await gw?.stop();
});

interface DeliveryView {
  status: string;
  attempts: number;
  lastResponseCode: number | null;
  lastError: string | null;
}

/** Waits until the task's one delivery is no longer PENDING; returns it as the tenant sees it. */
async function settledDelivery(key: string, taskId: string): Promise<DeliveryView> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await gw.gql<{ webhookDeliveries: { edges: { node: DeliveryView }[] } }>(
      `query($t: ID) { webhookDeliveries(taskId: $t) { edges { node { status attempts lastResponseCode lastError } } } }`,
      { t: taskId },
      key,
    );
    const node = res.data?.webhookDeliveries.edges[0]?.node;
    if (node && node.status !== 'PENDING') return node;
    if (Date.now() > deadline) throw new Error(`still pending: ${JSON.stringify(res)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

it('a reply with NUL and invalid UTF-8 is logged as a safe rendition, and the delivery ends FAILED after its schedule', async () => {
  const t = await gw.createTenant('hostile receiver', 100);
  const task = await generateOk(gw, t.key, 'textToImage', { prompt: 'tell me', callbackUrl: url });
  await waitForEnd(gw, t.key, task.id);
  expect(await settledDelivery(t.key, task.id)).toEqual({ status: 'FAILED', attempts: 4, lastResponseCode: 500, lastError: 'receiver responded 500' });

  const attempts = await gw.deps.db.webhookAttempt.findMany({ where: { delivery: { taskId: rowId(task.id) } }, orderBy: { id: 'asc' } });
  expect(attempts).toHaveLength(4);
  for (const attempt of attempts) {
    expect(attempt.responseCode).toBe(500);
    expect(unstorableReason(attempt.error!)).toBeNull();
    // The body's first KiB, controls shown escaped, invalid bytes as U+FFFD.
    expect(attempt.error!.startsWith('oops\\x00\uFFFD\uFFFD\uFFFD\uFFFD\\x1b')).toBe(true);
    expect(Array.from(attempt.error!).length).toBeLessThanOrEqual(1000);
  }
});

it('when the attempt cannot be logged at all, the schedule still advances to FAILED', async () => {
  const db = gw.deps.db;
  // Every insert into the attempt log fails, as a broken disk or a bad row would.
  await db.$executeRawUnsafe(`CREATE FUNCTION refuse_attempt() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no attempt log today'; END $$`);
  await db.$executeRawUnsafe('CREATE TRIGGER refuse_attempt BEFORE INSERT ON webhook_attempt FOR EACH ROW EXECUTE FUNCTION refuse_attempt()');
  try {
    const t = await gw.createTenant('unloggable', 100);
    const task = await generateOk(gw, t.key, 'textToImage', { prompt: 'tell me too', callbackUrl: url });
    await waitForEnd(gw, t.key, task.id);
    expect(await settledDelivery(t.key, task.id)).toEqual({
      status: 'FAILED',
      attempts: 4,
      lastResponseCode: 500,
      lastError: 'attempt could not be logged',
    });
    expect(await db.webhookAttempt.count({ where: { delivery: { taskId: rowId(task.id) } } })).toBe(0);
  } finally {
    await db.$executeRawUnsafe('DROP TRIGGER refuse_attempt ON webhook_attempt');
    await db.$executeRawUnsafe('DROP FUNCTION refuse_attempt()');
  }
});
