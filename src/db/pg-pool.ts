// A pg.Pool whose query results report PostgreSQL's internal `"char"` type
// (oid 18) as text (oid 25). adapter-pg 7.10 has no column type for oid 18 and
// fails the whole query ("Column type 'char' could not be deserialized"); the
// schema engine's describer reads such columns from the catalog
// (pg_constraint.contype, confdeltype, ...). The values are single characters
// either way. Which columns were "char" stays readable from the rows array
// (`charColumns`), for adapters that must report them as characters.
import pg from 'pg';

const CHAR_OID = 18;
const TEXT_OID = 25;
const CHAR_COLUMNS = Symbol('charColumns');

type AnyQuery = (...args: unknown[]) => unknown;
type QueryCallback = (error: unknown, result: unknown) => void;

export class CharAsTextPool extends pg.Pool {
  constructor(config?: pg.PoolConfig) {
    super(config);
    // 'connect' fires once per new client, before it serves any query, so this
    // covers `pool.query` (which runs on a pooled client) and `pool.connect()`
    // clients (interactive transactions) alike.
    this.on('connect', reportCharAsText);
    this.on('connect', survivesDeadConnection);
    // An idle client whose connection dies (the server shutting down, say)
    // is dropped by pg-pool, which then emits 'error' on the pool: unheard,
    // that would end the process. The next query opens a new connection.
    this.on('error', () => undefined);
    keepConnectionsOnRefusals(this);
  }
}

/**
 * pg-pool's query() destroys its connection after any failed query. A
 * statement PostgreSQL itself refused (a unique violation, a ledger guard:
 * a DatabaseError, with a SQLSTATE) leaves the session idle and healthy;
 * destroying it would cost a reconnect per refused request, churn that a
 * tenant sending refused requests on purpose could drive. Only failures that
 * are not the server's verdict (a broken socket, a timeout) end it.
 */
function keepConnectionsOnRefusals(pool: pg.Pool): void {
  const original = pool.query.bind(pool) as AnyQuery;
  const query: AnyQuery = (...args) => {
    // Callback and Submittable forms keep pg-pool's own handling.
    if (typeof args[args.length - 1] === 'function' || typeof (args[0] as { submit?: unknown })?.submit === 'function') {
      return original(...args);
    }
    return pool.connect().then(async (client) => {
      try {
        const result = await (client.query as AnyQuery)(...args);
        client.release();
        return result;
      } catch (error) {
        client.release(error instanceof pg.DatabaseError ? undefined : (error as Error));
        throw error;
      }
    });
  };
  Object.defineProperty(pool, 'query', { value: query, configurable: true, writable: true });
}

/**
 * A client whose connection dies (PostgreSQL restarted, a socket reset)
 * rejects its queries and also emits 'error'. pg-pool listens only while the
 * client is idle; checked out (a transaction, a live slot lease, a
 * rate-limiter query) nobody would, and Node ends the process on an
 * unheard 'error'. Its holder learns from the rejected query, and the pool
 * drops the client when it comes back (`_queryable` is false), so there is
 * nothing more to do here.
 */
function survivesDeadConnection(client: pg.PoolClient): void {
  client.on('error', () => undefined);
}

function reportCharAsText(client: pg.PoolClient): void {
  const query = client.query.bind(client) as AnyQuery;
  const patched: AnyQuery = (...args) => {
    const last = args.length - 1;
    const callback = args[last];
    if (typeof callback === 'function') {
      args[last] = ((error, result) => {
        if (!error) retypeFields(result);
        (callback as QueryCallback)(error, result);
      }) satisfies QueryCallback;
      return query(...args);
    }
    const result = query(...args);
    if (isThenable(result)) {
      return result.then((value) => {
        retypeFields(value);
        return value;
      });
    }
    return result; // a Submittable: its consumer reads rows itself
  };
  Object.defineProperty(client, 'query', { value: patched, configurable: true, writable: true });
}

function isThenable(value: unknown): value is Promise<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

// A multi-statement simple query resolves to one result per statement.
function retypeFields(result: unknown): void {
  if (Array.isArray(result)) {
    for (const each of result) retypeFields(each);
    return;
  }
  const { fields, rows } = (result ?? {}) as { fields?: unknown; rows?: unknown };
  if (!Array.isArray(fields)) return;
  const retyped: number[] = [];
  (fields as Array<{ dataTypeID?: number }>).forEach((field, index) => {
    if (field.dataTypeID !== CHAR_OID) return;
    field.dataTypeID = TEXT_OID;
    retyped.push(index);
  });
  // adapter-pg hands this very array on as its result set's `rows`.
  if (retyped.length && Array.isArray(rows)) Object.defineProperty(rows, CHAR_COLUMNS, { value: retyped });
}

/** Indexes of the `"char"` columns of a result whose rows came from a CharAsTextPool. */
export function charColumns(rows: unknown[]): number[] {
  return (rows as { [CHAR_COLUMNS]?: number[] })[CHAR_COLUMNS] ?? [];
}
