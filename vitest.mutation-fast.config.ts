// The tests of `npm run test:mutation:fast` (stryker.fast.config.mjs): those
// that call the ledger and the lifecycle's statements directly.
import { defineConfig } from 'vitest/config';
import base from './vitest.mutation.config.ts';

export default defineConfig({
  ...base,
  test: { ...base.test, include: ['test/ledger/*.test.ts', 'test/tasks/transitions.test.ts'] },
});
