// SIMULATOR_LATE_REFUND_RATE: upstream changing its mind after a success. A
// chosen task reports SUCCESS with its credits on its first /status read and
// is refunded right after; the books (charged − refunded = Σ consumed_credits)
// stay true throughout.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSimulatorEnv, resolveSimulatorOptions, SIMULATOR_DEFAULTS } from '../../src/simulator/options.ts';
import { startSimulator, type SimulatorHandle } from '../../src/simulator/server.ts';
import { raw, startTestSimulator } from '../upstream/helpers.ts';

let sim: SimulatorHandle;
beforeAll(async () => {
  sim = await startTestSimulator({ lateRefundRate: 1, latencyMs: 0, credits: 1000 });
});
afterAll(async () => {
  await sim.stop();
});

interface StatusData {
  status: string;
  consumed_credits: number;
}

async function create(s: SimulatorHandle, model?: string): Promise<string> {
  const res = await raw(s, '/generate', { method: 'POST', body: JSON.stringify({ model, input: { prompt: 'late' } }) });
  return (res.json as { data: { task_id: string } }).data.task_id;
}

async function status(s: SimulatorHandle, id: string, method: 'GET' | 'POST' = 'GET'): Promise<StatusData> {
  const res =
    method === 'GET'
      ? await raw(s, `/status?task_id=${id}`)
      : await raw(s, '/status', { method: 'POST', body: JSON.stringify({ task_id: id }) });
  return (res.json as { data: StatusData }).data;
}

function expectBooksBalance(s: SimulatorHandle, start: number): void {
  const c = s.counters();
  expect(c.creditsCharged - c.creditsRefunded).toBe(c.consumedCredits);
  expect(start - c.balance).toBe(c.consumedCredits);
}

describe('late refunds', () => {
  it('the first SUCCESS read reports the credits; every later read reports 0, and the account is refunded once', async () => {
    const id = await create(sim);
    expect(sim.credits()).toBe(995);
    expect(await status(sim, id)).toMatchObject({ status: 'SUCCESS', consumed_credits: 5 });
    expect(sim.credits()).toBe(1000);
    expectBooksBalance(sim, 1000);
    for (const method of ['GET', 'POST', 'GET'] as const) {
      expect(await status(sim, id, method)).toMatchObject({ status: 'SUCCESS', consumed_credits: 0 });
    }
    expect(sim.credits()).toBe(1000);
    expect(sim.counters().creditsRefunded).toBe(5);
    expect(sim.counters().tasks.succeeded).toBeGreaterThanOrEqual(1);
    // Reading the handle's snapshot is no /status read: it changes nothing.
    expect(sim.task(id)).toMatchObject({ status: 'SUCCESS', consumedCredits: 0, lateRefund: false });
  });

  it('a read while the task is still in progress does not count; a failed task is refunded once, as a failure', async () => {
    sim.configure({ latencyMs: 60_000 });
    const pending = await create(sim, 'grok-imagine/text-to-video');
    expect(await status(sim, pending)).toMatchObject({ status: 'IN_PROGRESS', consumed_credits: 24 });
    sim.completeNow(pending, 'SUCCESS');
    expect(await status(sim, pending)).toMatchObject({ status: 'SUCCESS', consumed_credits: 24 });
    expect(await status(sim, pending)).toMatchObject({ status: 'SUCCESS', consumed_credits: 0 });

    const failed = await create(sim);
    sim.completeNow(failed, 'FAILED');
    expect(await status(sim, failed)).toMatchObject({ status: 'FAILED', consumed_credits: 0 });
    expect(await status(sim, failed)).toMatchObject({ status: 'FAILED', consumed_credits: 0 });
    sim.configure({ latencyMs: 0 });
    expectBooksBalance(sim, 1000);
  });

  it('concurrent reads: exactly one sees the credits, and the books still balance', async () => {
    const ids = await Promise.all(Array.from({ length: 20 }, () => create(sim)));
    for (const id of ids) {
      const reads = await Promise.all(Array.from({ length: 8 }, () => status(sim, id)));
      expect(reads.filter((r) => r.consumed_credits === 5)).toHaveLength(1);
      expect(reads.every((r) => r.status === 'SUCCESS')).toBe(true);
    }
    expectBooksBalance(sim, 1000);
  });

  it('at rate 0 nothing is refunded late; a share is drawn from the seed and repeats with it', async () => {
    const run = async (lateRefundRate: number) => {
      const s = await startSimulator({ seed: 5, lateRefundRate, latencyMs: 0, failureRate: 0.3 });
      try {
        const ids: string[] = [];
        for (let i = 0; i < 40; i++) ids.push(await create(s));
        const reads = [];
        for (const id of ids) {
          const [a, b] = [await status(s, id), await status(s, id)];
          reads.push([{ status: a.status, consumed_credits: a.consumed_credits }, { status: b.status, consumed_credits: b.consumed_credits }] as const);
        }
        expectBooksBalance(s, 1_000_000);
        return { ids, reads, planned: ids.map((id) => s.task(id)!.planned) };
      } finally {
        await s.stop();
      }
    };
    const none = await run(0);
    expect(none.reads.every(([a, b]) => a.consumed_credits === b.consumed_credits)).toBe(true);
    const half = await run(0.5);
    const late = half.reads.filter(([a, b]) => a.status === 'SUCCESS' && a.consumed_credits === 5 && b.consumed_credits === 0);
    expect(late.length).toBeGreaterThan(0);
    expect(late.length).toBeLessThan(half.reads.filter(([a]) => a.status === 'SUCCESS').length);
    expect(await run(0.5)).toEqual(half);
  });

  it('SIMULATOR_LATE_REFUND_RATE is parsed like the failure rate and checked from code', () => {
    expect(parseSimulatorEnv({}).lateRefundRate).toBe(0);
    expect(parseSimulatorEnv({ SIMULATOR_LATE_REFUND_RATE: '0.25' }).lateRefundRate).toBe(0.25);
    for (const bad of ['2', '-0.1', 'often']) {
      expect(() => parseSimulatorEnv({ SIMULATOR_LATE_REFUND_RATE: bad })).toThrow(/^Invalid SIMULATOR_LATE_REFUND_RATE=/);
    }
    expect(() => resolveSimulatorOptions({ lateRefundRate: 1.5 }, { ...SIMULATOR_DEFAULTS })).toThrow(/lateRefundRate must be within 0\.\.1/);
  });
});
