// Builds the web console (console/) into console/dist, which the gateway
// serves at /console: graphql-codegen writes the operations' types from
// schema.graphql (console/codegen.ts, into console/src/gql), tsc checks the
// console against them, and Vite bundles it. Offline: every tool is a
// devDependency (tsx, which runs the codegen, is a dependency).
//
// `npm run console:build` fails on any error. As the postinstall step
// (`--postinstall`), a failure is reported and the install goes on, so the
// gateway still installs and starts (its /console page then says to build);
// a production install without devDependencies skips the build.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const postinstall = process.argv.includes('--postinstall');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

function finish(message, failed) {
  if (!failed) return;
  if (postinstall) {
    console.warn(`\nconsole: ${message}\nconsole: the gateway works without it; /console answers 503 until \`npm run console:build\` succeeds.\n`);
    process.exit(0);
  }
  console.error(`console: ${message}`);
  process.exit(1);
}

const tools = ['tsc', 'vite'];
const missing = tools.filter((tool) => !existsSync(bin(tool)));
if (!existsSync(path.join(root, 'node_modules', '@graphql-codegen', 'client-preset'))) missing.push('@graphql-codegen/client-preset');
if (missing.length > 0) {
  if (postinstall) {
    console.log(`console: not built (devDependencies not installed: ${missing.join(', ')})`);
    process.exit(0);
  }
  finish(`missing tools: ${missing.join(', ')} (run npm install)`, true);
}

const steps = [
  ['types from schema.graphql', process.execPath, ['--import', 'tsx', 'console/codegen.ts']],
  ['typecheck', 'tsc', ['-p', 'console/tsconfig.json']],
  ['bundle', 'vite', ['build', '--config', 'console/vite.config.ts']],
];
const started = Date.now();
for (const [label, tool, args] of steps) {
  const result = spawnSync(path.isAbsolute(tool) ? tool : bin(tool), args, { cwd: root, stdio: 'inherit', env: { ...process.env, NO_COLOR: process.env.NO_COLOR ?? '1' } });
  if (result.status !== 0) finish(`build failed at "${label}" (${path.basename(tool)} ${args.join(' ')})`, true);
}
console.log(`console: built into console/dist in ${((Date.now() - started) / 1000).toFixed(1)} s`);
