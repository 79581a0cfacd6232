// The cursors of every list: opaque, validated, and bound to the list and the
// caller they were made for. A cursor carries the position of its row in the
// list's order (for most lists, its creation time and id) and a tag of the
// list and caller; a page "after" it is found by comparing positions
// (keyset pagination), never by looking the cursor's row up. So a cursor
// made up from another tenant's id reads nothing of that tenant's rows, and
// one of another caller or list is refused as VALIDATION, as is anything
// that does not decode.
import { createHash } from 'node:crypto';
import { resolveCursorConnection, type DefaultConnectionArguments } from '@pothos/plugin-relay';
import { ValidationError } from '../errors.ts';
import { isRowId } from './ids.ts';

/**
 * The page sizes of every list (README, "Pages and query cost"): without
 * `first` and `last` a page holds `default` rows; more than `max`, or fewer
 * than 0, is VALIDATION naming the argument. The query cost rule
 * (server/query-cost.ts) prices a page with the same numbers.
 */
export const PAGE_SIZE = { default: 20, max: 100 } as const;

/** `first` and `last` within 0..max, or a ValidationError naming the argument. */
export function checkPageSize(args: { first?: number | null; last?: number | null }): void {
  const max = PAGE_SIZE.max;
  for (const name of ['first', 'last'] as const) {
    const size = args[name];
    if (size == null || (size >= 0 && size <= max)) continue;
    throw new ValidationError(
      size < 0 ? `${name}: must not be negative` : `${name}: at most ${max} rows per page; page on with the cursors`,
      [name],
    );
  }
}

const VERSION = 1;
/** Longer than any cursor this file makes. */
const MAX_CURSOR_CHARS = 200;

/** A list, and whose view of it: `tasks` of tenant t, `tenants` of the admin. */
export interface CursorScope {
  list: string;
  caller: string;
}

function tagOf(scope: CursorScope): string {
  return createHash('sha256').update(`${scope.list}\u0000${scope.caller}`).digest('base64url').slice(0, 16);
}

/** Makes the cursors of one page: its scope's tag is computed once, not once per row. */
function encoder(scope: CursorScope): (position: readonly (string | number)[]) => string {
  const tag = tagOf(scope);
  return (position) => Buffer.from(JSON.stringify([VERSION, tag, ...position])).toString('base64url');
}

/** The position inside a cursor of `scope`, or a ValidationError naming `field`. */
function decode(scope: CursorScope, cursor: string, field: string): unknown[] {
  const refused = () => new ValidationError(`${field}: is not a cursor of this list`, field);
  if (cursor.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw refused();
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw refused();
  }
  if (!Array.isArray(parts) || parts[0] !== VERSION || parts[1] !== tagOf(scope)) throw refused();
  return parts.slice(2);
}

/** A row of a list ordered newest first: by creation time, then id. */
export interface Created {
  id: string;
  createdAt: Date;
}

/** Where a page starts or ends: rows strictly older (`lt`) or newer (`gt`) than a position. */
function beyond(position: Created, direction: 'lt' | 'gt') {
  return {
    OR: [
      { createdAt: { [direction]: position.createdAt } },
      { createdAt: position.createdAt, id: { [direction]: position.id } },
    ],
  } as { OR: ({ createdAt: { lt?: Date; gt?: Date } } | { createdAt: Date; id: { lt?: string; gt?: string } })[] };
}

function decodeCreated(scope: CursorScope, cursor: string, field: string): Created {
  const [at, id] = decode(scope, cursor, field);
  if (typeof at !== 'number' || !Number.isSafeInteger(at) || Math.abs(at) > 8.64e15 || !isRowId(id)) {
    throw new ValidationError(`${field}: is not a cursor of this list`, field);
  }
  return { createdAt: new Date(at), id: id as string };
}

/** One page query of a newest-first list: what to add to `where`, the order, how many rows. */
export interface CreatedPage {
  where: { AND: ReturnType<typeof beyond>[] };
  orderBy: { createdAt?: 'asc' | 'desc'; id?: 'asc' | 'desc' }[];
  take: number;
  /** The same bounds and order as plain values, for a page read in SQL: rows older than `after`, newer than `before`. */
  after: Created | null;
  before: Created | null;
  order: 'asc' | 'desc';
}

/**
 * A Relay connection over a newest-first list (`first`/`after` pages older,
 * `last`/`before` newer), with this file's cursors. `fetch` runs the page
 * query: its own filters AND `page.where`, in `page.orderBy`, `page.take` rows.
 */
export function createdConnection<T extends Created>(
  scope: CursorScope,
  args: DefaultConnectionArguments,
  fetch: (page: CreatedPage) => Promise<T[]>,
) {
  checkPageSize(args);
  // Decoded before anything runs, so a bad cursor is refused whatever else happens.
  const after = args.after ? decodeCreated(scope, args.after, 'after') : null;
  const before = args.before ? decodeCreated(scope, args.before, 'before') : null;
  const encode = encoder(scope);
  return resolveCursorConnection<Promise<T[]>>(
    { args, toCursor: (row: T) => encode([row.createdAt.getTime(), row.id]), defaultSize: PAGE_SIZE.default, maxSize: PAGE_SIZE.max },
    ({ limit, inverted }) => {
      const order = inverted ? 'asc' : 'desc';
      return fetch({
        where: { AND: [...(after ? [beyond(after, 'lt')] : []), ...(before ? [beyond(before, 'gt')] : [])] },
        orderBy: [{ createdAt: order }, { id: order }],
        take: limit,
        after,
        before,
        order,
      });
    },
  );
}

/**
 * A connection over a list ordered by a growing integer id, newest first,
 * paged forward only (the ledger's entries).
 */
export function idConnection<T extends { id: bigint }>(
  scope: CursorScope,
  args: DefaultConnectionArguments,
  fetch: (page: { beforeId: bigint | undefined; take: number }) => Promise<T[]>,
) {
  checkPageSize(args);
  let beforeId: bigint | undefined;
  if (args.after) {
    const [id] = decode(scope, args.after, 'after');
    if (typeof id !== 'string' || !/^\d{1,19}$/.test(id)) throw new ValidationError('after: is not a cursor of this list', 'after');
    beforeId = BigInt(id);
  }
  const encode = encoder(scope);
  return resolveCursorConnection<Promise<T[]>>(
    { args, toCursor: (row: T) => encode([row.id.toString()]), defaultSize: PAGE_SIZE.default, maxSize: PAGE_SIZE.max },
    ({ limit }) => fetch({ beforeId, take: limit }),
  );
}
