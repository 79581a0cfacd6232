// What ids and cursors the schema takes. Every node's id is a row's uuid
// inside a Relay global id (decoded by the relay plugin, builder.ts); every
// Prisma connection's cursor is Pothos's own (`GPC:` chunks over the row id).
// Pothos refuses what it cannot decode; what decodes to something other than
// a row id would reach the database as a bad uuid (a 500), so it is refused
// here first, as VALIDATION.
import { parsePrismaCursor } from '@pothos/plugin-prisma';
import { z } from 'zod';

const rowId = z.guid();

export function isRowId(value: unknown): boolean {
  return rowId.safeParse(value).success;
}

function isRowCursor(cursor: string): boolean {
  try {
    return isRowId(parsePrismaCursor(cursor));
  } catch {
    return false;
  }
}

const cursor = z.string().refine(isRowCursor, 'is not a cursor of this list').nullish();

/** The `validate` of a Prisma connection field: its `after` and `before` are cursors it made. */
export const connectionCursors = z.looseObject({ after: cursor, before: cursor });
