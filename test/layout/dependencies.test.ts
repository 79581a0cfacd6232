// The import directions of DESIGN.md ("Layout"), checked with the same
// dependency-cruiser config CI runs (`npm run deps:check`).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseOptions, type ICruiseResult } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixtures = path.join(root, 'test/layout/fixtures');

/** Cruises `src` under `baseDir`; returns the violations as "rule: from → to". */
async function violations(baseDir: string): Promise<string[]> {
  const options: ICruiseOptions = await extractDepcruiseOptions(path.join(root, '.dependency-cruiser.cjs'));
  const tsConfig = extractTSConfig(path.join(root, 'tsconfig.json'));
  const { output } = await cruise(['src'], { ...options, baseDir }, {}, { tsConfig });
  const result = output as ICruiseResult;
  return result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();
}

describe('layout: import directions', () => {
  it('src/ has no forbidden imports', async () => {
    expect(await violations(root)).toEqual([]);
  });

  it('the rules catch exactly the forbidden imports of the fixture tree', async () => {
    expect(await violations(fixtures)).toEqual([
      'catalog-bottom: src/catalog.ts → src/ledger/z.ts',
      'db-bottom: src/db/bad.ts → src/ledger/z.ts',
      'ledger-not-up: src/ledger/bad-type.ts → src/tasks/thing.ts',
      'ledger-not-up: src/ledger/bad.ts → src/tasks/thing.ts',
      'limits-low: src/limits/bad.ts → src/tasks/thing.ts',
      'simulator-alone: src/simulator/bad.ts → src/db/x.ts',
      'tasks-not-up: src/tasks/bad.ts → src/schema/y.ts',
    ]);
  });
});
