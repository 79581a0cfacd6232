import { z } from 'zod';
import { NotFoundError } from '../errors.ts';
import { decodeGlobalId, encodeGlobalId } from '../global-ids.ts';

const uuid = z.uuid();

/**
 * Decodes an opaque ID for `typename`. Anything malformed or of another type
 * is simply not found: clients learn nothing from the shape of an ID.
 */
export function decodeId(typename: string, raw: string): string {
  const decoded = decodeGlobalId(raw);
  if (decoded && decoded.typename === typename && uuid.safeParse(decoded.id).success) return decoded.id;
  throw new NotFoundError(`No ${typename} with id ${JSON.stringify(raw.slice(0, 100))}`);
}

export const encodeId = encodeGlobalId;
