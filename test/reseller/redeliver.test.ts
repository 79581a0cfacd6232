import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { success, type ResultUnion } from '../helpers/graphql.ts';
import { generateOk, waitForEnd } from '../helpers/tasks.ts';

// A tenant reads each delivery's attempt log and sends a delivery again.

let gw: TestGateway;
let receiver: Server;
let url: string;
let answer = 500;
let received = 0;
beforeAll(async () => {
  gw = await startTestGateway({ WEBHOOK_RETRY_SCHEDULE_MS: '50,50' });
  receiver = createServer((req, res) => {
    req.resume();
    received++;
    res.writeHead(answer, { 'content-type': 'text/plain' }).end(answer === 200 ? 'ok' : 'receiver broke');
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  await gw?.stop();
  await new Promise((resolve) => receiver?.close(resolve));
});

type Delivery = { id: string; status: string; attempts: number; attemptLog: { responseCode: number | null; error: string | null; durationMs: number }[] };
const DELIVERY = 'id status attempts attemptLog { attemptedAt responseCode error durationMs }';

async function deliveries(key: string): Promise<Delivery[]> {
  const res = await gw.gql<{ webhookDeliveries: { edges: { node: Delivery }[] } }>(`{ webhookDeliveries(first: 10) { edges { node { ${DELIVERY} } } } }`, {}, key);
  return res.data!.webhookDeliveries.edges.map((e) => e.node);
}

async function redeliver(key: string, deliveryId: string) {
  const res = await gw.gql<{ redeliverWebhook: ResultUnion<Delivery> }>(
    `mutation($id: ID!) { redeliverWebhook(input: { deliveryId: $id }) { __typename ... on Error { code message }
       ... on MutationRedeliverWebhookSuccess { data { ${DELIVERY} } } } }`,
    { id: deliveryId },
    key,
  );
  return res.data!.redeliverWebhook;
}

describe('redeliverWebhook and attemptLog', () => {
  it('a FAILED delivery shows each attempt; sent again, it is delivered and its log keeps the history', async () => {
    const t = await gw.createTenant('redeliver', 100);
    const task = await generateOk(gw, t.key, 'textToImage', { prompt: 'hook', callbackUrl: url });
    await waitForEnd(gw, t.key, task.id);
    await expect.poll(async () => (await deliveries(t.key))[0]?.status, { timeout: 10_000 }).toBe('FAILED');
    const failed = (await deliveries(t.key))[0]!;
    expect(failed.attempts).toBe(3);
    expect(failed.attemptLog).toHaveLength(3);
    for (const attempt of failed.attemptLog) {
      expect(attempt.responseCode).toBe(500);
      expect(attempt.error).toBe('receiver broke');
    }

    answer = 200;
    const again = success(await redeliver(t.key, failed.id));
    expect(again).toMatchObject({ id: failed.id, status: 'PENDING', attempts: 0 });
    await expect.poll(async () => (await deliveries(t.key))[0]?.status, { timeout: 10_000 }).toBe('DELIVERED');
    const delivered = (await deliveries(t.key))[0]!;
    expect(delivered.attemptLog.map((a) => a.responseCode)).toEqual([500, 500, 500, 200]);
    expect(received).toBe(4);

    // Delivered: it may be sent once more, on request.
    success(await redeliver(t.key, failed.id));
    await expect.poll(() => received, { timeout: 10_000 }).toBe(5);
  });

  it("another tenant's delivery is NOT_FOUND and is not sent", async () => {
    const a = await gw.createTenant('owner', 100);
    const b = await gw.createTenant('other', 0);
    answer = 500;
    const task = await generateOk(gw, a.key, 'textToImage', { prompt: 'mine', callbackUrl: url });
    await waitForEnd(gw, a.key, task.id);
    await expect.poll(async () => (await deliveries(a.key))[0]?.status, { timeout: 10_000 }).toBe('FAILED');
    const before = received;
    const id = (await deliveries(a.key))[0]!.id;
    expect(await redeliver(b.key, id)).toMatchObject({ code: 'NOT_FOUND' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(received).toBe(before);
    expect((await deliveries(a.key))[0]!.status).toBe('FAILED');
  });
});
