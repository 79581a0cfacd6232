// `npm run schema:print`: writes schema.graphql from the Pothos schema.
// test/server/schema-file.test.ts fails when the file is stale.
import { writeFile } from 'node:fs/promises';
import { printSchema } from 'graphql';
import { schema } from './index.ts';

export const SCHEMA_FILE = 'schema.graphql';

export function printedSchema(): string {
  return `${printSchema(schema)}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await writeFile(SCHEMA_FILE, printedSchema());
  console.log(`wrote ${SCHEMA_FILE}`);
}
