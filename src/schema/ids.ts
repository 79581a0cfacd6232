// What ids the schema takes: every node's id is a row's uuid inside a Relay
// global id (decoded by the relay plugin, builder.ts). Pothos refuses what it
// cannot decode; what decodes to something other than a row id would reach
// the database as a bad uuid (a 500), so it is refused first, as VALIDATION.
// Cursors are cursors.ts's.
import { z } from 'zod';

const rowId = z.guid();

export function isRowId(value: unknown): boolean {
  return rowId.safeParse(value).success;
}
