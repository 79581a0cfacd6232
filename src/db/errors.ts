import { Prisma } from '../generated/prisma/client.ts';

/**
 * True when `error` is a unique-constraint violation: Prisma's P2002 from
 * model queries, or PostgreSQL's 23505 surfacing through a raw query.
 */
export function isUniqueViolation(error: unknown): boolean {
  if (error instanceof Prisma.PrismaClientKnownRequestError) {
    if (error.code === 'P2002') return true;
    return JSON.stringify(error.meta ?? {}).includes('23505');
  }
  return false;
}
