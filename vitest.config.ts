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
  },
});
