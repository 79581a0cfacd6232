import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { printedSchema, SCHEMA_FILE } from '../../src/schema/print.ts';

describe('schema.graphql', () => {
  it('matches the Pothos schema (run `npm run schema:print` after changing it)', async () => {
    const onDisk = await readFile(SCHEMA_FILE, 'utf8');
    expect(onDisk).toBe(printedSchema());
  });

  it('names the fixed contract types', () => {
    const sdl = printedSchema();
    for (const name of [
      'interface Error',
      'type MutationCreateTenantSuccess',
      'type MutationIssueApiKeySuccess',
      'type MutationRevokeApiKeySuccess',
      'type MutationTopUpCreditsSuccess',
      'type MutationSetPriceSuccess',
      'type IssuedApiKey',
      'enum GenerationModel',
      'type LedgerEntry',
      'type Balance',
    ]) {
      expect(sdl).toContain(name);
    }
  });
});
