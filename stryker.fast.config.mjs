// `npm run test:mutation:fast`: a quicker pass (about 30 minutes on 2 cores)
// over the same code with only the tests that call the ledger and the
// lifecycle directly (vitest.mutation-fast.config.ts), no gateway. Its
// survivors are where a direct test is missing; the full run
// (stryker.config.mjs) is the one the README's table reports.
import base from './stryker.config.mjs';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  vitest: { configFile: 'vitest.mutation-fast.config.ts', related: false },
  jsonReporter: { fileName: 'reports/mutation-fast/mutation.json' },
  incremental: false,
  timeoutMS: 30_000,
};
