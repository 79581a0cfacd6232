// `npm run test:mutation`: StrykerJS over the ledger and the task lifecycle,
// the code where a wrong sign or a missing condition loses money. Not in CI
// (it takes the better part of an hour on two cores); its score and every
// surviving mutant are in the README ("Mutation testing"). The tests use
// DATABASE_URL when set (faster), otherwise an embedded PostgreSQL.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  coverageAnalysis: 'perTest',
  mutate: ['src/ledger/**/*.ts', '!src/ledger/cli-verify.ts', 'src/tasks/lifecycle.ts', 'src/tasks/statements.ts'],
  ignorePatterns: ['.data', 'bench', 'reports', 'coverage', '.stryker-tmp'],
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  concurrency: 2,
  timeoutMS: 60_000,
  cleanTempDir: 'always',
  // Results are kept in reports/stryker-incremental.json: a later run tests only what changed.
  incremental: true,
};
