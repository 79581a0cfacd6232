// Runs `prisma generate` offline. The Prisma CLI insists on locating a native
// schema engine binary, which it cannot download here; generate never runs
// it, so any existing file satisfies the check (DESIGN.md, fact 1).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const cli = require.resolve('prisma/build/index.js');
const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
  // The Pothos generator is a bin of its package; npm scripts add .bin to PATH, plain node does not.
  PATH: [path.resolve('node_modules/.bin'), process.env.PATH].join(path.delimiter),
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
  CHECKPOINT_DISABLE: '1',
};
const result = spawnSync(process.execPath, [cli, 'generate', '--schema', 'prisma/schema.prisma'], {
  stdio: 'inherit',
  env,
});
process.exit(result.status ?? 1);
