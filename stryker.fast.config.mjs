// `npm run test:mutation:fast`: a quicker pass (about 30 minutes on 2 cores)
// over the same code with only the tests that call the ledger and the
// lifecycle directly (vitest.mutation-fast.config.ts), no gateway. Its
// tests are a subset of the full run's (stryker.config.mjs), so its
// survivors bound the full run's; the README's score is this pass's.
import base from './stryker.config.mjs';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  vitest: { configFile: 'vitest.mutation-fast.config.ts', related: false },
  jsonReporter: { fileName: 'reports/mutation-fast/mutation.json' },
  incremental: false,
  timeoutMS: 30_000,
};
