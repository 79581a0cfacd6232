import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/app.ts';
import type { Task } from '../../src/generated/prisma/client.ts';
import { verifyLedger } from '../../src/ledger/verify.ts';
import { expire, mirrorLateRefund } from '../../src/tasks/lifecycle.ts';
import { checkTask, claimForReconciliation, reconcileOnce, type ReconcileSettings } from '../../src/tasks/reconcile.ts';
import { startGatewayOn, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { rowId } from '../helpers/graphql.ts';
import { balanceOf, generateOk, getTask, waitForEnd } from '../helpers/tasks.ts';

// Reconciliation over real HTTP (gateway and simulator): upstream refunds a
// task after it succeeded (SIMULATOR_LATE_REFUND_RATE), and a pass mirrors
// the refund to the tenant and in the upstream spend, once, however many
// passes, checks and gateways meet; other differences are only recorded.

let gw: TestGateway;
let other: Gateway;
// The background workers would run a pass only at start: the tests drive theirs.
const QUIET = { RECONCILE_INTERVAL_MS: '86400000' };
// Every ended task is due again at once (intervalMs 0): passes re-check and race.
const EVERY: ReconcileSettings = { intervalMs: 0, windowHours: 24, batch: 1000 };
// Only tasks never checked (the others were checked within the hour).
const NEW_ONLY: ReconcileSettings = { intervalMs: 3_600_000, windowHours: 24, batch: 1000 };

beforeAll(async () => {
  gw = await startTestGateway({ SIMULATOR_LATE_REFUND_RATE: '1', SIMULATOR_SEED: '11', ...QUIET });
  other = await startGatewayOn(gw.databaseUrl, gw.simulator, QUIET);
});
afterAll(async () => {
  await other?.close();
  await gw?.stop();
});

interface Report {
  from: string;
  to: string;
  tasksChecked: number;
  mismatches: number;
  corrected: number;
  driftCredits: number;
}

async function report(from: Date, to = new Date(Date.now() + 1000), token?: string) {
  return gw.gql<{ reconciliation: Report }>(
    `query($from: DateTime!, $to: DateTime!) { reconciliation(from: $from, to: $to) { from to tasksChecked mismatches corrected driftCredits } }`,
    { from: from.toISOString(), to: to.toISOString() },
    token,
  );
}

/** Generates `n` images and waits until each has ended; returns the task rows. */
async function ended(key: string, n: number, expected: 'SUCCESS' | 'FAILED' = 'SUCCESS'): Promise<Task[]> {
  const ids = await Promise.all(Array.from({ length: n }, (_, i) => generateOk(gw, key, 'textToImage', { prompt: `reconcile ${i}` })));
  const views = await Promise.all(ids.map((t) => waitForEnd(gw, key, t.id)));
  for (const view of views) expect(view.status).toBe(expected);
  return gw.deps.db.task.findMany({ where: { id: { in: views.map((v) => rowId(v.id)) } } });
}

const count = (tenantId: string, kind: 'REFUND' | 'UPSTREAM_REFUND') => gw.deps.db.transfer.count({ where: { tenantId, kind } });

describe('reconciliation', () => {
  it('mirrors a late upstream refund once: the tenant refunded, upstream spend reversed; the report says so', async () => {
    const from = new Date();
    const t = await gw.createTenant('late-refund', 100);
    const tasks = await ended(t.key, 3);
    expect(await balanceOf(gw, t.key)).toEqual({ available: 85, held: 0 });
    // Upstream charged, then changed its mind after the gateway read the success.
    for (const task of tasks) {
      expect(task).toMatchObject({ status: 'SUCCESS', refunded: false, upstreamCredits: 5 });
      expect(gw.simulator.task(task.upstreamTaskId!)).toMatchObject({ status: 'SUCCESS', consumedCredits: 0 });
    }

    const first = await reconcileOnce(gw.deps.tasks, EVERY);
    expect(first).toMatchObject({ corrected: 3, mismatch: 0, unreachable: 0 });
    expect(await balanceOf(gw, t.key)).toEqual({ available: 100, held: 0 });
    expect(await count(rowId(t.id), 'REFUND')).toBe(3);
    expect(await count(rowId(t.id), 'UPSTREAM_REFUND')).toBe(3);
    // Success freed the in-flight slots; the refund frees none again.
    expect((await gw.deps.db.account.findUniqueOrThrow({ where: { tenantId: rowId(t.id) } })).inFlight).toBe(0);
    const refunds = await gw.deps.db.transfer.findMany({ where: { tenantId: rowId(t.id), kind: { in: ['REFUND', 'UPSTREAM_REFUND'] } } });
    expect(refunds.map((r) => r.reversesId).sort()).toEqual(tasks.flatMap((x) => [x.chargeId, x.upstreamChargeId]).sort());
    // Still a success (its results were delivered), now refunded; the tenant sees it so.
    for (const task of tasks) {
      expect(await gw.deps.db.task.findUniqueOrThrow({ where: { id: task.id } })).toMatchObject({ status: 'SUCCESS', refunded: true, upstreamCredits: 0 });
    }
    expect(await getTask(gw, t.key, encodeGlobalID('Task', tasks[0]!.id))).toMatchObject({ status: 'SUCCESS', refunded: true });

    // Again, and again from the other gateway: upstream and our record now agree; nothing moves.
    expect(await reconcileOnce(gw.deps.tasks, EVERY)).toMatchObject({ corrected: 0, mismatch: 0, agreed: 3 });
    expect(await reconcileOnce(other.deps.tasks, EVERY)).toMatchObject({ corrected: 0, mismatch: 0, agreed: 3 });
    expect(await balanceOf(gw, t.key)).toEqual({ available: 100, held: 0 });
    expect(await count(rowId(t.id), 'REFUND')).toBe(3);
    expect(await verifyLedger(gw.deps.db)).toEqual([]);

    const res = await report(from);
    expect(res.errors).toBeUndefined();
    expect(res.data!.reconciliation).toMatchObject({ tasksChecked: 3, mismatches: 3, corrected: 3, driftCredits: 15 });
    const rows = await gw.deps.db.taskReconciliation.findMany({ where: { taskId: { in: tasks.map((x) => x.id) } } });
    for (const row of rows) {
      expect(row).toMatchObject({ checks: 3, upstreamCredits: 0, upstreamStatus: 'SUCCESS', drift: 5, leaseUntil: null });
      expect(row.correctedAt!.getTime()).toBeGreaterThanOrEqual(row.mismatchAt!.getTime());
    }
  });

  it('exactly once under races: checks that meet on one task, and concurrent passes from two gateways, many rounds', async () => {
    const t = await gw.createTenant('late-refund-race', 1000);
    const tenantId = rowId(t.id);
    let total = 0;
    for (let round = 0; round < 8; round++) {
      // Two checks of each task from each gateway at once, as when a lease expired under a slow check.
      const met = await ended(t.key, 4);
      const claimed = await claimForReconciliation(gw.deps.db, new Date(), { ...NEW_ONLY, leaseMs: 30_000 });
      expect(claimed.map((x) => x.id).sort()).toEqual(met.map((x) => x.id).sort());
      const outcomes = await Promise.all(
        claimed.flatMap((task) => [gw.deps.tasks, other.deps.tasks, gw.deps.tasks, other.deps.tasks].map((d) => checkTask(d, task, new Date()))),
      );
      expect(outcomes.filter((o) => o === 'corrected')).toHaveLength(4);
      expect(outcomes.filter((o) => o === 'mismatch')).toHaveLength(12);

      // Concurrent passes: the leases share the batch out; re-checks race corrections.
      await ended(t.key, 6);
      const passes = await Promise.all([gw.deps.tasks, other.deps.tasks, gw.deps.tasks, other.deps.tasks].map((d) => reconcileOnce(d, EVERY)));
      expect(passes.reduce((sum, p) => sum + p.corrected, 0)).toBe(6);
      expect(passes.reduce((sum, p) => sum + p.unreachable, 0)).toBe(0);

      total += 10;
      expect(await count(tenantId, 'REFUND')).toBe(total);
      expect(await count(tenantId, 'UPSTREAM_REFUND')).toBe(total);
      expect(await balanceOf(gw, t.key)).toEqual({ available: 1000, held: 0 });
    }
    const rows = await gw.deps.db.taskReconciliation.findMany({ where: { task: { tenantId } } });
    expect(rows).toHaveLength(total);
    expect(rows.every((r) => r.correctedAt !== null && r.drift === 5)).toBe(true);
    expect(await verifyLedger(gw.deps.db)).toEqual([]);
  });

  it('without late refunds: checks are recorded, no mismatch, nothing moves', async () => {
    gw.simulator.configure({ lateRefundRate: 0 });
    try {
      const from = new Date();
      const t = await gw.createTenant('no-late-refund', 100);
      const tasks = await ended(t.key, 3);
      const pass = await reconcileOnce(gw.deps.tasks, NEW_ONLY);
      expect(pass).toEqual({ agreed: 3, mismatch: 0, corrected: 0, unreachable: 0 });
      expect(await reconcileOnce(other.deps.tasks, NEW_ONLY)).toEqual({ agreed: 0, mismatch: 0, corrected: 0, unreachable: 0 });
      expect(await balanceOf(gw, t.key)).toEqual({ available: 85, held: 0 });
      const rows = await gw.deps.db.taskReconciliation.findMany({ where: { taskId: { in: tasks.map((x) => x.id) } } });
      expect(rows).toHaveLength(3);
      for (const row of rows) expect(row).toMatchObject({ checks: 1, upstreamCredits: 5, drift: 0, mismatchAt: null, correctedAt: null });
      expect((await report(from)).data!.reconciliation).toMatchObject({ tasksChecked: 3, mismatches: 0, corrected: 0, driftCredits: 0 });
    } finally {
      gw.simulator.configure({ lateRefundRate: 1 });
    }
  });

  it('another difference (upstream charged a task we refunded) is recorded and reported, not corrected', async () => {
    gw.simulator.configure({ lateRefundRate: 0, latencyMs: 60_000 });
    try {
      const from = new Date();
      const t = await gw.createTenant('expired', 100);
      const view = await generateOk(gw, t.key, 'textToImage', { prompt: 'slow' });
      let task = await gw.deps.db.task.findUniqueOrThrow({ where: { id: rowId(view.id) } });
      for (let i = 0; task.status !== 'IN_PROGRESS' && i < 100; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        task = await gw.deps.db.task.findUniqueOrThrow({ where: { id: task.id } });
      }
      // Our deadline passed: failed and refunded. Then upstream finishes it after all, and keeps the credits.
      expect(await expire(gw.deps.store, task, 1000)).toMatchObject({ status: 'FAILED', refunded: true });
      gw.simulator.completeNow(task.upstreamTaskId!, 'SUCCESS');
      expect(await reconcileOnce(gw.deps.tasks, NEW_ONLY)).toEqual({ agreed: 0, mismatch: 1, corrected: 0, unreachable: 0 });
      expect(await balanceOf(gw, t.key)).toEqual({ available: 100, held: 0 });
      // The late refund is a SUCCESS's only: this one moves nothing.
      expect(await mirrorLateRefund(gw.deps.store, task)).toBeNull();
      expect(await count(rowId(t.id), 'REFUND')).toBe(1);
      expect(await gw.deps.db.taskReconciliation.findUniqueOrThrow({ where: { taskId: task.id } })).toMatchObject({
        upstreamCredits: 5,
        upstreamStatus: 'SUCCESS',
        drift: -5,
        correctedAt: null,
      });
      expect((await report(from)).data!.reconciliation).toMatchObject({ tasksChecked: 1, mismatches: 1, corrected: 0, driftCredits: 5 });
      expect(await verifyLedger(gw.deps.db)).toEqual([]);
    } finally {
      gw.simulator.configure({ lateRefundRate: 1, latencyMs: '30-80' });
    }
  });

  it('checks only tasks that ended within the window', async () => {
    const later = new Date(Date.now() + 2 * 3_600_000);
    expect(await reconcileOnce(gw.deps.tasks, { ...EVERY, windowHours: 1 }, later)).toEqual({ agreed: 0, mismatch: 0, corrected: 0, unreachable: 0 });
    const res = await report(new Date(Date.now() - 3_600_000));
    expect(res.data!.reconciliation.tasksChecked).toBeGreaterThan(0);
    expect((await report(new Date(Date.now() + 60_000), new Date(Date.now() + 120_000))).data!.reconciliation).toMatchObject({
      tasksChecked: 0,
      mismatches: 0,
      corrected: 0,
      driftCredits: 0,
    });
  });

  it('is for admins only, over a window of at most 366 days that ends after it starts', async () => {
    const t = await gw.createTenant('reconcile-nosy', 0);
    const now = new Date();
    const forbidden = await report(new Date(now.getTime() - 1000), now, t.key);
    expect(forbidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(forbidden.data).toBeNull();
    for (const [from, to] of [
      [now, now],
      [now, new Date(now.getTime() - 1)],
      [now, new Date(now.getTime() + 366 * 86_400_000 + 1)],
    ] as const) {
      const res = await report(from, to);
      expect(res.errors?.[0]?.extensions?.code).toBe('VALIDATION');
    }
    expect((await report(now, new Date(now.getTime() + 366 * 86_400_000))).errors).toBeUndefined();
  });
});
