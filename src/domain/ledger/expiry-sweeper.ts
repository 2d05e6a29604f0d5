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

/**
 * Balances never count expired credits or holds, whether or not this has run; it writes the expiry
 * and release entries that make the ledger say so, for accounts nobody has touched since.
 */
export function startExpirySweeper(pool: Pool, ledger: Ledger, logger: Logger, intervalMs: number): () => Promise<void> {
  const sweep = async (stopping: AbortSignal) => {
    const accounts = await accountsWithLapses(pool, 500);
    let settled = 0;
    for (; settled < accounts.length && !stopping.aborted; settled += SWEEP_CHUNK) {
      await Promise.all(accounts.slice(settled, settled + SWEEP_CHUNK).map((accountId) => ledger.settle(accountId)));
    }
    if (accounts.length) logger.info({ accounts: Math.min(settled, accounts.length) }, 'settled expired grants and holds');
  };
  return startPeriodic(sweep, intervalMs, new BackgroundFailures(logger, 'expiry sweep'));
}
