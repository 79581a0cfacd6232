import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { rowId } from '../helpers/graphql.ts';
import { generateOk, waitForEnd } from '../helpers/tasks.ts';
import { collect, wsClient } from '../helpers/ws.ts';

// /metrics scraped over real HTTP while tasks run: the figures move with what
// the gateway did, and they agree with the ledger.

const METRICS_TOKEN = 'metrics-token-0123456789';
let gw: TestGateway;
let receiver: Server;
let receiverUrl: string;
beforeAll(async () => {
  gw = await startTestGateway({ METRICS_TOKEN, SIMULATOR_FAILURE_RATE: '0.5', SIMULATOR_SEED: '11' });
  receiver = createServer((req, res) => {
    req.resume();
    res.writeHead(204).end();
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  await gw?.stop();
  await new Promise((resolve) => receiver?.close(resolve));
});

type Samples = Map<string, number>;

async function scrape(): Promise<Samples> {
  const res = await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  const samples: Samples = new Map();
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

const value = (samples: Samples, key: string) => samples.get(key) ?? 0;

describe('/metrics', () => {
  it('refuses a scrape without METRICS_TOKEN', async () => {
    expect((await fetch(`${gw.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${gw.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-000000000' } })).status).toBe(401);
  });

  it('counts operations, tasks, credits, upstream calls, webhooks and live connections as they happen', async () => {
    const before = await scrape();
    const t = await gw.createTenant('metered', 1000);
    const client = wsClient(gw.graphqlUrl, t.key);
    try {
      collect(client, `subscription { balanceChanged { available } }`);
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) ids.push((await generateOk(gw, t.key, 'textToImage', { prompt: `m ${i}`, callbackUrl: receiverUrl })).id);
      const ended = await Promise.all(ids.map((id) => waitForEnd(gw, t.key, id)));
      const failed = ended.filter((task) => task.status === 'FAILED').length;
      expect(failed).toBeGreaterThan(0);
      expect(failed).toBeLessThan(10);

      await expect
        .poll(async () => value(await scrape(), 'gateway_webhook_deliveries_total{outcome="delivered"}') - value(before, 'gateway_webhook_deliveries_total{outcome="delivered"}'), {
          timeout: 10_000,
        })
        .toBe(10);
      const after = await scrape();
      const delta = (key: string) => value(after, key) - value(before, key);

      expect(delta('gateway_tasks_total{model="TEXT_TO_IMAGE",outcome="accepted"}')).toBe(10);
      expect(delta('gateway_tasks_total{model="TEXT_TO_IMAGE",outcome="succeeded"}')).toBe(10 - failed);
      expect(delta('gateway_tasks_total{model="TEXT_TO_IMAGE",outcome="failed"}')).toBe(failed);
      expect(delta('gateway_credits_total{flow="charged"}')).toBe(50);
      expect(delta('gateway_credits_total{flow="refunded"}')).toBe(5 * failed);
      expect(delta('gateway_credits_total{flow="upstream_charged"}')).toBe(50);
      expect(delta('gateway_credits_total{flow="upstream_refunded"}')).toBe(5 * failed);
      // The ledger agrees.
      const charges = await gw.deps.db.transfer.aggregate({ where: { tenantId: rowId(t.id), kind: 'CHARGE' }, _sum: { amount: true } });
      expect(charges._sum.amount).toBe(50);

      expect(delta('gateway_upstream_requests_total{endpoint="generate",status="200"}')).toBe(10);
      expect(delta('gateway_upstream_requests_total{endpoint="status",status="200"}')).toBeGreaterThanOrEqual(10);
      expect(delta('gateway_upstream_request_duration_seconds_count{endpoint="generate"}')).toBe(10);
      expect(delta('gateway_graphql_operations_total{type="mutation",field="textToImage",outcome="ok"}')).toBe(10);
      expect(delta('gateway_graphql_operations_total{type="subscription",field="balanceChanged",outcome="ok"}')).toBe(1);
      expect(delta('gateway_graphql_operation_duration_seconds_count{type="mutation",field="textToImage"}')).toBe(10);

      expect(value(after, 'gateway_live_connections')).toBeGreaterThanOrEqual(1);
      expect(value(after, 'gateway_live_subscriptions')).toBeGreaterThanOrEqual(1);
      expect(value(after, 'gateway_upstream_state{state="OK"}')).toBe(1);
      expect(value(after, 'gateway_upstream_state{state="OUT_OF_CREDITS"}')).toBe(0);
      expect(after.has('gateway_database_pool_connections{state="in_use"}')).toBe(true);
      expect(after.has('gateway_database_pool_connections{state="waiting"}')).toBe(true);
      expect(value(after, 'gateway_poller_lag_seconds')).toBeGreaterThanOrEqual(0);
    } finally {
      await client.dispose();
    }
    await expect.poll(async () => value(await scrape(), 'gateway_live_connections'), { timeout: 5000 }).toBe(0);
  });

});

describe('/metrics poller lag', () => {
  it('is the age of the oldest task due for a poll that no process has taken', async () => {
    // A poller that looks once an hour, and tasks that never finish: due tasks wait.
    const slow = await startTestGateway({ METRICS_TOKEN, TASK_POLL_INTERVAL_MS: '3600000', SIMULATOR_LATENCY_MS: '3600000' });
    try {
      const lagOf = async () => {
        const res = await fetch(`${slow.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
        const line = (await res.text()).split('\n').find((l) => l.startsWith('gateway_poller_lag_seconds '));
        return Number(line!.split(' ')[1]);
      };
      const t = await slow.createTenant('lagging', 100);
      const task = await generateOk(slow, t.key, 'textToImage', { prompt: 'late' });
      await slow.deps.db.task.update({ where: { id: rowId(task.id) }, data: { nextPollAt: new Date(Date.now() + 60_000) } });
      expect(await lagOf()).toBe(0);
      await slow.deps.db.task.update({ where: { id: rowId(task.id) }, data: { nextPollAt: new Date(Date.now() - 90_000) } });
      const lag = await lagOf();
      expect(lag).toBeGreaterThan(89);
      expect(lag).toBeLessThan(120);
      // Leased by some process: being worked on, not waiting.
      await slow.deps.db.task.update({ where: { id: rowId(task.id) }, data: { leaseUntil: new Date(Date.now() + 60_000) } });
      expect(await lagOf()).toBe(0);
    } finally {
      await slow.stop();
    }
  });
});
