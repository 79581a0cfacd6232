// Cursors of the Prisma connections are Pothos's own (`GPC:` chunks over the
// row id). Pothos refuses a cursor it cannot decode; one that decodes to
// something other than a row id would reach the database as a bad uuid (a
// 500), so every connection validates its cursors with this first.
import { parsePrismaCursor } from '@pothos/plugin-prisma';
import { z } from 'zod';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function isRowCursor(cursor: string): boolean {
  try {
    const id = parsePrismaCursor(cursor);
    return typeof id === 'string' && UUID.test(id);
  } catch {
    return false;
  }
}

const cursor = z.string().refine(isRowCursor, 'is not a cursor of this list').nullish();

/** The `validate` of a Prisma connection field: its `after` and `before` are cursors it made. */
export const connectionCursors = z.looseObject({ after: cursor, before: cursor });
