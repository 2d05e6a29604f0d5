import type { Pool } from 'pg';
import type { FastifyBaseLogger as Logger } from 'fastify';
import { accountsWithLapses } from '../../db/balance-queries.js';
import { BackgroundFailures } from '../../lib/background-failures.js';
import { startPeriodic } from '../../lib/periodic.js';
import type { Ledger } from './ledger.js';

/**
 * Accounts settled at once. The ledger's queue is first come, first served, and spends share it: a
 * spend that arrives during a sweep waits for the settlements queued ahead of it, so a sweep queues
 * this many at a time (a batch or so), not the hundreds a backlog may hold.
 */
export const SWEEP_CHUNK = 64;

/** Accounts one pass looks for (of each kind: grants, holds); a backlog takes several passes. */
export const SWEEP_LIMIT = 500;

/**
 * How far before its last complete pass the next one looks back for lapsed grants. A grant keeps
 * credits past its expiry only until a command on its account settles it, and a command on such an
 * account always loads it and decides on the database's clock (account-cache.ts, expiresSoon). So a
 * pass can only miss a grant that a transaction still open when it looked gave credits back to: far
 * less than this, unless DATABASE_TIMEOUT_MS is long (lapseOverlapMs).
 */
export const LAPSE_OVERLAP_MS = 10 * 60_000;

/**
 * The look-back for a DATABASE_TIMEOUT_MS: a ledger transaction lasts at most two trips of the
 * timeout (and 2 s more each) and an idle half of it between them, so three timeouts outlast it.
 */
export function lapseOverlapMs(databaseTimeoutMs: number): number {
  return Math.max(LAPSE_OVERLAP_MS, 3 * databaseTimeoutMs);
}

/**
 * Balances never count expired credits or holds, whether or not this has run; it writes the expiry
 * and release entries that make the ledger say so, for accounts nobody has touched since.
 *
 * The first pass after the start looks at every grant that has expired; each later one only at those
 * that expired since the last complete pass (less lapseOverlapMs): a range of an index, where
 * reading every grant took 87 ms at a million. A pass that fails, stops, or leaves accounts for the
 * next one does not move that mark.
 */
export function startExpirySweeper(pool: Pool, ledger: Ledger, logger: Logger, { intervalMs, databaseTimeoutMs }: { intervalMs: number; databaseTimeoutMs: number }): () => Promise<void> {
  const overlapMs = lapseOverlapMs(databaseTimeoutMs);
  let since: Date | null = null;
  const sweep = async (stopping: AbortSignal) => {
    const { accounts, at, more } = await accountsWithLapses(pool, SWEEP_LIMIT, since);
    let settled = 0;
    for (; settled < accounts.length && !stopping.aborted; settled += SWEEP_CHUNK) {
      await Promise.all(accounts.slice(settled, settled + SWEEP_CHUNK).map((accountId) => ledger.settle(accountId)));
    }
    if (accounts.length) logger.info({ accounts: Math.min(settled, accounts.length) }, 'settled expired grants and holds');
    if (!more && !stopping.aborted) since = new Date(at.getTime() - overlapMs);
  };
  return startPeriodic(sweep, intervalMs, new BackgroundFailures(logger, 'expiry sweep'));
}
