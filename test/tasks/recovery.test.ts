import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyLedger } from '../../src/ledger/verify.ts';
import { requestHash, type GenerationRequest } from '../../src/tasks/requests.ts';
import { submit } from '../../src/tasks/lifecycle.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { balanceOf, generateOk, waitForEnd } from '../helpers/tasks.ts';

let gw: TestGateway;
beforeAll(async () => {
  // Short timeouts so recovery and deadlines act within the test.
  gw = await startTestGateway({
    TASK_SUBMIT_TIMEOUT_MS: '1000',
    UPSTREAM_TIMEOUT_MS: '300',
    UPSTREAM_RETRY_DEADLINE_MS: '300',
    TASK_DEADLINE_MS: '1500',
    TASK_LEASE_MS: '500',
    // The out-of-credits test opens the upstream breaker (tasks/upstream-health.ts); the
    // next generation, 10 ms on, is its probe and closes it once credits are back.
    UPSTREAM_PROBE_INITIAL_MS: '10',
  });
});
afterAll(async () => {
  await gw?.stop();
});

function uuidOf(globalId: string): string {
  return Buffer.from(globalId, 'base64').toString().split(':')[1]!;
}

describe('crash recovery', () => {
  it('a task left SUBMITTING by a dead process is failed and its hold voided', async () => {
    const t = await gw.createTenant('stale-submit', 50);
    const tenantId = uuidOf(t.id);
    // Step 2 done, then the process "died" before calling upstream.
    const request: GenerationRequest = {
      model: 'TEXT_TO_IMAGE', prompt: 'orphan', imageUrls: [], sourceTaskId: null, callbackUrl: null, public: false, idempotencyKey: null,
    };
    const task = (await submit(gw.deps.store, { tenantId, request, requestHash: requestHash(request), maxInFlight: 10 }))!;
    // The statement's RETURNING list yields exactly Prisma's Task shape: the
    // same fields, of the same types, with the same values, unless the
    // sweeper (TASK_SUBMIT_TIMEOUT_MS is 1 s here) has already moved the row
    // on a slow machine; then the fields a transition never touches still agree.
    const fresh = await gw.deps.db.task.findUniqueOrThrow({ where: { id: task.id } });
    if (fresh.status === 'SUBMITTING') expect(task).toEqual(fresh);
    else {
      expect(Object.keys(task).sort()).toEqual(Object.keys(fresh).sort());
      const typeOf = (v: unknown) => (v instanceof Date ? 'Date' : Array.isArray(v) ? 'array' : typeof v);
      for (const [key, value] of Object.entries(fresh)) {
        const returned = task[key as keyof typeof task];
        if (value !== null && returned !== null) expect(typeOf(returned), key).toBe(typeOf(value));
      }
      for (const key of ['id', 'tenantId', 'model', 'prompt', 'imageUrls', 'requestHash', 'callbackToken', 'createdAt', 'holdId'] as const) {
        expect(task[key], key).toEqual(fresh[key]);
      }
    }
    // The price is held until the sweeper voids the hold (at most a moment from now).
    expect([{ available: 45, held: 5 }, { available: 50, held: 0 }]).toContainEqual(await balanceOf(gw, t.key));

    const deadline = Date.now() + 15_000;
    let row = await gw.deps.db.task.findUniqueOrThrow({ where: { id: task.id } });
    while (row.status === 'SUBMITTING' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      row = await gw.deps.db.task.findUniqueOrThrow({ where: { id: task.id } });
    }
    expect(row.status).toBe('FAILED');
    expect(row.errorMessage).toMatch(/interrupted/);
    expect(row.creditsCharged).toBe(0);
    expect(await balanceOf(gw, t.key)).toEqual({ available: 50, held: 0 });
    expect(await gw.deps.db.hold.findUniqueOrThrow({ where: { id: row.holdId! } })).toMatchObject({ status: 'VOIDED' });
    expect(await verifyLedger(gw.deps.db)).toEqual([]);
  });

  it('an IN_PROGRESS task whose poller died (lease held) is picked up once the lease expires', async () => {
    const t = await gw.createTenant('stale-lease', 50);
    gw.simulator.configure({ latencyMs: 50 });
    const task = await generateOk(gw, t.key, 'textToImage', { prompt: 'leased' });
    // A dead process's lease, far in the future relative to the poll.
    await gw.deps.db.task.update({ where: { id: uuidOf(task.id) }, data: { leaseUntil: new Date(Date.now() + 700) } });
    const done = await waitForEnd(gw, t.key, task.id);
    expect(done.status).toBe('SUCCESS');
  });

  it('a generate that times out upstream is UPSTREAM_UNAVAILABLE and charges nothing', async () => {
    const t = await gw.createTenant('timeout', 50);
    gw.simulator.failNext(5, 'timeout', { endpoint: 'generate', holdMs: 1000 });
    try {
      const res = await gw.gql<{ textToImage: { __typename: string; code: string; message: string } }>(
        `mutation { textToImage(input: { prompt: "slow upstream" }) { __typename ... on Error { code message } } }`,
        {},
        t.key,
      );
      expect(res.data!.textToImage.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(res.data!.textToImage.message).toMatch(/nothing was charged/);
      expect(await balanceOf(gw, t.key)).toEqual({ available: 50, held: 0 });
    } finally {
      gw.simulator.clearFaults();
    }
  });

  it('the reseller account out of upstream credits is UPSTREAM_UNAVAILABLE, saying so', async () => {
    const t = await gw.createTenant('no-upstream-credits', 50);
    const credits = gw.simulator.credits();
    gw.simulator.setCredits(0);
    try {
      const res = await gw.gql<{ textToImage: { code: string; message: string } }>(
        `mutation { textToImage(input: { prompt: "broke" }) { ... on Error { code message } } }`,
        {},
        t.key,
      );
      expect(res.data!.textToImage.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(res.data!.textToImage.message).toMatch(/out of upstream credits/);
      expect(await balanceOf(gw, t.key)).toEqual({ available: 50, held: 0 });
      expect(gw.deps.tasks.health.current().state).toBe('OUT_OF_CREDITS');
    } finally {
      gw.simulator.setCredits(credits);
    }
  });
});

describe('deadline', () => {
  it('a task in progress past TASK_DEADLINE_MS ends FAILED and refunded', async () => {
    const t = await gw.createTenant('deadline', 50);
    gw.simulator.configure({ latencyMs: 600_000 });
    try {
      const task = await generateOk(gw, t.key, 'textToVideo', { prompt: 'never ends' });
      const done = await waitForEnd(gw, t.key, task.id);
      expect(done).toMatchObject({ status: 'FAILED', refunded: true });
      expect(done.errorMessage).toMatch(/Timed out/);
      expect(await balanceOf(gw, t.key)).toEqual({ available: 50, held: 0 });
    } finally {
      gw.simulator.configure({ latencyMs: '30-80' });
    }
  });
});

describe('upstream callbacks', () => {
  it('the callback alone brings the result: the poller would not ask before the test times out; a forged one asks nothing', async () => {
    // First poll and every later one ten minutes away, and the poller looks
    // for due tasks every ten minutes: without the callback, nothing asks
    // upstream within this test's 30 s.
    const slow = await startTestGateway({
      TASK_POLL_INITIAL_MS: '600000',
      TASK_POLL_MAX_MS: '600000',
      TASK_POLL_INTERVAL_MS: '600000',
      SIMULATOR_LATENCY_MS: '600000',
    });
    try {
      const t = await slow.createTenant('callback', 50);
      const task = await generateOk(slow, t.key, 'textToImage', { prompt: 'call me back' });
      const row = await slow.deps.db.task.findUniqueOrThrow({ where: { id: uuidOf(task.id) } });
      expect(row.nextPollAt!.getTime() - row.updatedAt.getTime()).toBeGreaterThan(60_000);

      // A callback with the wrong token is refused and makes the gateway ask nothing.
      const forged = await fetch(`${slow.url}/upstream/callback/${uuidOf(task.id)}/not-the-right-token-000`, { method: 'POST', body: '{}' });
      expect(forged.status).toBe(404);

      // Upstream finishes the task and calls back: only that can end it in time.
      expect(slow.simulator.completeNow(row.upstreamTaskId!, 'SUCCESS')).toBe(1);
      const done = await waitForEnd(slow, t.key, task.id, 10_000);
      expect(done.status).toBe('SUCCESS');
      await slow.simulator.callbacksIdle();
      const counters = slow.simulator.counters();
      expect(counters.callbacks).toMatchObject({ sent: 1, delivered: 1 });
      // One /status call in all, after upstream had finished: the one the callback asked for.
      expect(counters.requests.status).toEqual({ '200': 1 });
    } finally {
      await slow.stop();
    }
  }, 30_000);
});
