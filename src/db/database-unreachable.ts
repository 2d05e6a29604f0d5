import { DATABASE_SILENT } from './silence-gate.js';

/**
 * Whether an error says that PostgreSQL could not be reached, went away or did not answer in time (a
 * connection refused, reset or timed out, the server shutting down or not yet accepting connections,
 * too many connections, a statement cancelled at its time limit, no answer at all, or none lately:
 * silence-gate.ts), as pg, Node's sockets or Prisma (over the same pool) report it, rather than that
 * a statement was refused. Such a request may be sent again: its outcome is decided by its
 * Idempotency-Key.
 */
export function isDatabaseUnreachable(error: unknown): boolean {
  return causes(error).some(
    (cause) =>
      NETWORK_CODES.has(cause.code ?? '') ||
      SERVER_GONE_STATES.has(cause.code ?? '') ||
      (cause.code ?? '').startsWith(CONNECTION_EXCEPTION_CLASS) ||
      PRISMA_UNREACHABLE.has(cause.code ?? '') ||
      cause.code === DATABASE_SILENT ||
      POOL_MESSAGES.some((message) => (cause.message ?? '').startsWith(message)),
  );
}

/**
 * A statement PostgreSQL refused for now, not for what it asks: a deadlock or serialization failure
 * (SQLSTATE class 40, the transaction rolled back) or a lock not to be had (55P03). The same work a
 * moment later may well succeed.
 */
export function isDatabaseRefusalForNow(error: unknown): boolean {
  return causes(error).some((cause) => (cause.code ?? '').startsWith(TRANSACTION_ROLLBACK_CLASS) || cause.code === LOCK_NOT_AVAILABLE);
}

/**
 * The Batcher's `runAlone` for batches of database work: a batch that failed is run again item by
 * item, so that one bad item fails only itself, unless the database did not answer it: each item
 * alone would wait as long again, one after another, while the rest queue behind.
 */
export const unlessDatabaseUnreachable = (error: unknown): boolean => !isDatabaseUnreachable(error);

/**
 * The words of a database failure for a log line: its message, or its code where the message is
 * empty (Node's connect to several addresses fails with an AggregateError that has none).
 */
export function unreachableReason(error: unknown): string {
  const { message, code } = (typeof error === 'object' && error !== null ? error : {}) as ErrorLike;
  return message || code || String(error);
}

interface ErrorLike {
  code?: string;
  message?: string;
}

/**
 * The error, its `cause` chain, an AggregateError's errors (Node's connect tries each address), and
 * the driver's error inside a Prisma error (`meta.driverAdapterError`, whose cause has PostgreSQL's code,
 * as `code` or `originalCode`).
 */
function causes(error: unknown, depth = 0): ErrorLike[] {
  if (typeof error !== 'object' || error === null || depth > 4) return [];
  const own = error as ErrorLike & { originalCode?: unknown; cause?: unknown; errors?: unknown; meta?: { driverAdapterError?: unknown } };
  const inner = [own.cause, ...(Array.isArray(own.errors) ? own.errors : []), own.meta?.driverAdapterError];
  // The driver adapter names some of PostgreSQL's failures by a kind of its own, its code as originalCode.
  const code = typeof own.code === 'string' ? own.code : typeof own.originalCode === 'string' ? own.originalCode : undefined;
  return [{ code, message: own.message }, ...inner.flatMap((e) => causes(e, depth + 1))];
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * admin_shutdown, crash_shutdown, cannot_connect_now (starting or in recovery), too_many_connections;
 * query_canceled (statement_timeout, or an operator's cancel) and idle_in_transaction_session_timeout.
 */
const SERVER_GONE_STATES = new Set(['57P01', '57P02', '57P03', '53300', '57014', '25P03']);

/** SQLSTATE class 40: transaction_rollback (serialization_failure, deadlock_detected, …). */
const TRANSACTION_ROLLBACK_CLASS = '40';

const LOCK_NOT_AVAILABLE = '55P03';

/** SQLSTATE class 08: connection_exception and its kinds. */
const CONNECTION_EXCEPTION_CLASS = '08';

/** Can't reach the server, timed out reaching it, the server closed the connection, no connection from the pool in time. */
const PRISMA_UNREACHABLE = new Set(['P1001', 'P1002', 'P1017', 'P2024']);

/** pg's own words for a connection lost mid-query, for a pool that found none in time, and for no answer within query_timeout. */
const POOL_MESSAGES = ['Connection terminated', 'timeout exceeded when trying to connect', 'Query read timeout'];
