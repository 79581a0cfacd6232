import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // graphql ships CJS and ESM builds; Pothos and Yoga (loaded by Node) get
    // the CJS one, so our own imports must too, or instanceof checks across
    // the two copies fail ("Cannot use GraphQLScalarType from another realm").
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Starts (or finds) PostgreSQL and builds the migrated template database
    // that each test file clones (test/helpers/db.ts).
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // `npm test` runs with --coverage and prints a summary. Only code that runs
    // in vitest's own workers is measured: gateways spawned as processes
    // (test/helpers/process.ts) are not. The simulator is the fake upstream
    // the gateway is tested against, not the gateway; the generated Prisma
    // client is not ours.
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      exclude: ['src/generated/**', 'src/simulator/**'],
      reporter: ['text-summary'],
      // The summary is printed when a test fails too (vitest skips it by default).
      reportOnFailure: true,
    },
  },
});
