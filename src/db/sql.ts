// Composing one SQL statement from named steps (`WITH a AS (...), b AS (...)
// SELECT ...`). The ledger and the task lifecycle build their statements
// this way: each owns the steps that write its tables, and one statement
// (one round trip, one atomic change) joins them. See DESIGN.md, "The ledger".
import { Prisma } from '../generated/prisma/client.ts';

export type Sql = Prisma.Sql;

export const sql = Prisma.sql;
export const raw = Prisma.raw;
export const join = Prisma.join;
export const empty = Prisma.empty;

/** One named step of a WITH query. Later steps and the final SELECT refer to it by `name`. */
export interface Step {
  readonly name: string;
  readonly sql: Sql;
}

export function step(name: string, body: Sql): Step {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`invalid step name: ${name}`);
  return { name, sql: body };
}

/** A step's name, for use inside another step's SQL. */
export function ref(s: Step | string): Sql {
  return raw(typeof s === 'string' ? s : s.name);
}

/**
 * `WITH <steps> <final>`. PostgreSQL runs a data-modifying step when its rows
 * are first needed and always to completion, all on one snapshot; a step
 * that reads another step's rows therefore runs after it. That is how the
 * steps below encode their lock order (tasks/lifecycle.ts, "Lock order").
 */
export function withSteps(steps: readonly Step[], final: Sql): Sql {
  const names = new Set<string>();
  for (const s of steps) {
    if (names.has(s.name)) throw new Error(`duplicate step name: ${s.name}`);
    names.add(s.name);
  }
  if (steps.length === 0) return final;
  return sql`WITH ${join(steps.map((s) => sql`${raw(s.name)} AS (${s.sql})`), ',\n')}\n${final}`;
}
