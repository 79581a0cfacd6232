// Reading PostgreSQL's verdict out of a failed statement's error: node-postgres's
// DatabaseError (statements run by db/client.ts's `query`), or Prisma's. Raw
// queries over the driver adapter report the SQLSTATE in
// `meta.driverAdapterError.cause`; model queries report Prisma codes (P2002
// for a unique violation).
import pg from 'pg';
import { Prisma } from '../generated/prisma/client.ts';

interface AdapterCause {
  originalCode?: unknown;
  originalMessage?: unknown;
  code?: unknown;
  message?: unknown;
}

function adapterCause(error: unknown): AdapterCause | null {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError)) return null;
  const cause = (error.meta as { driverAdapterError?: { cause?: AdapterCause } } | undefined)?.driverAdapterError?.cause;
  return cause ?? null;
}

/** The SQLSTATE of a failed statement, when PostgreSQL gave one. */
export function sqlStateOf(error: unknown): string | null {
  if (error instanceof pg.DatabaseError) return error.code ?? null;
  if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') return '23505';
  const code = adapterCause(error)?.originalCode ?? adapterCause(error)?.code;
  return typeof code === 'string' ? code : null;
}

/** True when `error` is a unique-constraint violation (23505). */
export function isUniqueViolation(error: unknown): boolean {
  return sqlStateOf(error) === '23505';
}

/** The reason a guarded ledger statement aborted (`ledger_require`, SQLSTATE GW001), or null. */
export function ledgerGuardOf(error: unknown): string | null {
  if (sqlStateOf(error) !== 'GW001') return null;
  if (error instanceof pg.DatabaseError) return error.message;
  const message = adapterCause(error)?.originalMessage ?? adapterCause(error)?.message;
  return typeof message === 'string' ? message : null;
}

/**
 * Failures worth running the same statement again for: a serialisation
 * failure or deadlock (40xxx), a lost or refused connection (08xxx), the
 * server shutting down (57P01-57P03), or Prisma unable to reach it.
 */
export function isTransient(error: unknown): boolean {
  const state = sqlStateOf(error);
  if (state) return state.startsWith('40') || state.startsWith('08') || /^57P0[123]$/.test(state);
  if (error instanceof Prisma.PrismaClientKnownRequestError) return ['P1001', 'P1002', 'P1008', 'P1017', 'P2024'].includes(error.code);
  return error instanceof Error && /ECONNRESET|ECONNREFUSED|Connection terminated|connection closed/i.test(error.message);
}
