import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.js';
import { gatedPool, SilenceGate } from './silence-gate.js';

export type { PrismaClient };

export interface Database {
  /** The ledger's hot path speaks SQL over this pool; Prisma shares it for everything else. */
  pool: pg.Pool;
  prisma: PrismaClient;
  /** Whether the database has gone silent; while it is, the pool fails every connection asked for at once. */
  silence: SilenceGate;
  close(): Promise<void>;
}

// bigint columns (amounts, entry ids) arrive as strings by default; every amount Tally stores is at
// most 10^12 per row and sums stay far below 2^53, so numbers are exact.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/** How long Tally waits for PostgreSQL unless told (DATABASE_TIMEOUT_MS). */
export const DEFAULT_DATABASE_TIMEOUT_MS = 10_000;

/**
 * The pool's limits, from one timeout T, so that a database that is slow, stuck or out of reach fails
 * a request with a 503 database_unavailable (which a client may send again, with its key) rather than
 * holding it for as long as TCP tries, which is forever when packets are dropped without a reset:
 * - a connection not had in T (a server that does not answer, or a pool busy that long);
 * - a statement that runs or waits for a lock longer than T is cancelled by PostgreSQL
 *   (statement_timeout), its transaction rolled back;
 * - a transaction left idle for T/2 (its Tally frozen, or cut off from the database) is ended by
 *   PostgreSQL, with its row locks (idle_in_transaction_session_timeout), before the statements
 *   waiting for those locks give up; Tally never waits on anything else inside a transaction;
 * - an answer that does not come at all, not even PostgreSQL's cancellation, within T + 2 s (the
 *   server or the network went silent) fails the query on Tally's side (query_timeout), and its
 *   connection is not used again;
 * - idle connections are probed by TCP keepalive, so one to a server that is gone is found out;
 * - once a connection or an answer did not come in time, every connection asked for fails at once
 *   until the database answers again (silence-gate.ts).
 * Both server settings are sent as startup parameters (a PgBouncer in between must accept them).
 */
function poolLimits(timeoutMs: number) {
  return {
    connectionTimeoutMillis: timeoutMs,
    statement_timeout: timeoutMs,
    idle_in_transaction_session_timeout: Math.ceil(timeoutMs / 2),
    query_timeout: timeoutMs + ANSWER_MARGIN_MS,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  } satisfies pg.PoolConfig;
}

/** How much longer than PostgreSQL's own limit Tally waits for any answer, its cancellation included. */
const ANSWER_MARGIN_MS = 2_000;

export function openDatabase(connectionString: string, poolSize: number, timeoutMs = DEFAULT_DATABASE_TIMEOUT_MS): Database {
  const limits = poolLimits(timeoutMs);
  const silence = new SilenceGate({ connectionString, ...limits });
  const pool = gatedPool({ connectionString, max: poolSize, idleTimeoutMillis: 30_000, ...limits }, silence);
  pool.on('error', () => {
    // An idle connection dropped by the server; the pool replaces it on next use.
  });
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    pool,
    prisma,
    silence,
    async close() {
      silence.stop();
      await prisma.$disconnect();
      await pool.end();
    },
  };
}
