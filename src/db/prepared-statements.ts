import type { PoolClient } from 'pg';
import { literal } from './sql-literal.js';

/** A statement PostgreSQL parses and plans once per connection (SQL-level PREPARE). */
export interface PreparedStatement {
  name: string;
  /** The parameters' types, in order ($1, $2, ...). */
  types: string[];
  sql: string;
}

/**
 * A statement whose every parameter is written with a cast (`$1::text[]`): the casts give the
 * types PREPARE declares, so they are written once.
 */
export function preparedStatement(name: string, sql: string): PreparedStatement {
  const types: string[] = [];
  for (const [, n, type] of sql.matchAll(/\$(\d+)::([\w.]+(?:\[\])?)/g)) {
    const previous = types[Number(n) - 1];
    if (previous && previous !== type) throw new Error(`${name}: $${n} is cast to both ${previous} and ${type}`);
    types[Number(n) - 1] = type;
  }
  const uncast = [...sql.matchAll(/\$(\d+)(?!\d|::)/g)].map((m) => `$${m[1]}`);
  const unused = Array.from(types, (type, i) => (type ? [] : [`$${i + 1}`])).flat();
  if (uncast.length || unused.length) throw new Error(`${name}: every parameter needs a cast where it is used (${[...uncast, ...unused].join(', ')})`);
  return { name, types: [...types], sql };
}

const preparedOn = new WeakMap<PoolClient, Set<string>>();

/**
 * Prepares the statements a connection has not prepared yet, in one round trip outside any
 * transaction (a PREPARE inside one that rolls back would be undone). Prepared statements live as
 * long as the connection. Returns nothing when all are prepared already, so that a caller on the hot
 * path need not wait a tick for nothing.
 */
export function ensurePrepared(client: PoolClient, statements: PreparedStatement[]): Promise<void> | undefined {
  const done = preparedOn.get(client) ?? new Set<string>();
  const missing = statements.filter((s) => !done.has(s.name));
  if (missing.length === 0) return undefined;
  return client.query(missing.map((s) => `PREPARE ${s.name}(${s.types.join(', ')}) AS ${s.sql}`).join(';\n')).then(() => {
    for (const s of missing) done.add(s.name);
    preparedOn.set(client, done);
  });
}

/**
 * `EXECUTE` of a prepared statement with its parameters as literals: one statement of a
 * multi-statement simple query, so several still share one round trip, without PostgreSQL parsing
 * and planning the statement's text each time.
 */
export function execute(statement: PreparedStatement, params: unknown[]): string {
  if (params.length !== statement.types.length) throw new Error(`${statement.name} takes ${statement.types.length} parameters, got ${params.length}`);
  return `EXECUTE ${statement.name}(${params.map(literal).join(', ')})`;
}
