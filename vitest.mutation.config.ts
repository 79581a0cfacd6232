// The tests StrykerJS runs against each mutant (stryker.config.mjs): those
// that exercise the ledger and the task lifecycle in vitest's own worker.
// Tests that run the gateway as a child process (kill-restart, chaos) are
// left out: Stryker cannot see coverage in another process. So are the two
// heavy races (idempotency-race: 20 rounds of 120 requests through three
// gateways; poll-lease): they cover most of the lifecycle and would run for
// nearly every mutant, hours in all on two cores.
import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: [
      'test/ledger/*.test.ts',
      'test/tasks/{lifecycle,money,recovery,limits,validation,early-callback,transitions}.test.ts',
    ],
    // Instrumented code runs slower, and Stryker runs one file at a time.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
