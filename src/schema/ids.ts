// What ids the schema takes: every node's id is a Relay global id (decoded by
// the relay plugin, builder.ts) around a row's uuid, or, for a LedgerEntry,
// around the entry's integer id. Pothos refuses what it cannot decode; what
// decodes to something else would reach the database as a bad uuid (a 500),
// so it is refused first, as VALIDATION. Cursors are cursors.ts's.
import { decodeGlobalID } from '@pothos/plugin-relay';
import { z } from 'zod';
import { ValidationError } from '../errors.ts';

const rowId = z.guid();

/** Ledger entry ids are positive PostgreSQL bigints. */
const MAX_BIGINT = 2n ** 63n - 1n;

function isEntryId(value: string): boolean {
  return /^[1-9]\d{0,18}$/.test(value) && BigInt(value) <= MAX_BIGINT;
}

export function isRowId(value: unknown): boolean {
  return rowId.safeParse(value).success;
}

/** The type and id inside a global id, or a ValidationError. */
export function decodeNodeId(globalID: string): { typename: string; id: string } {
  const decoded = decodeGlobalID(globalID);
  const ok = decoded.typename === 'LedgerEntry' ? isEntryId(decoded.id) : isRowId(decoded.id);
  if (!ok) throw new ValidationError(`Invalid global ID: ${globalID.slice(0, 100)}`);
  return decoded;
}

/** The same, or null for anything that is not a global id of ours (`node(id:)` answers null, not an error). */
export function nodeIdOrNull(globalID: string): { typename: string; id: string } | null {
  try {
    return decodeNodeId(globalID);
  } catch {
    return null;
  }
}
