import { z } from 'zod';
import { NotFoundError } from '../errors.ts';
import { decodeGlobalId, encodeGlobalId } from '../global-ids.ts';

const uuid = z.uuid();

/**
 * Decodes an opaque ID for `typename`. Anything malformed or of another type
 * is simply not found: clients learn nothing from the shape of an ID.
 */
export function decodeId(typename: string, raw: string): string {
  const id = decodeIdOrNull(typename, raw);
  if (id) return id;
  throw new NotFoundError(`No ${typename} with id ${JSON.stringify(raw.slice(0, 100))}`);
}

export const encodeId = encodeGlobalId;

/** The uuid behind an opaque ID of `typename`, or null: for reads, where unknown means "nothing". */
export function decodeIdOrNull(typename: string, raw: string): string | null {
  const decoded = decodeGlobalId(raw);
  return decoded && decoded.typename === typename && uuid.safeParse(decoded.id).success ? decoded.id : null;
}
