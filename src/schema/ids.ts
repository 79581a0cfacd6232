import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
import { z } from 'zod';
import { NotFoundError } from '../errors.ts';

const uuid = z.uuid();

/**
 * Decodes an opaque ID for `typename`. Anything malformed or of another type
 * is simply not found: clients learn nothing from the shape of an ID.
 */
export function decodeId(typename: string, raw: string): string {
  try {
    const { typename: actual, id } = decodeGlobalID(raw);
    if (actual === typename && uuid.safeParse(id).success) return id;
  } catch {
    // fall through: not a valid global id
  }
  throw new NotFoundError(`No ${typename} with id ${JSON.stringify(raw.slice(0, 100))}`);
}

export function encodeId(typename: string, id: string | bigint): string {
  return encodeGlobalID(typename, String(id));
}
