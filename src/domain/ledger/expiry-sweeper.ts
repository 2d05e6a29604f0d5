import type { Pool } from 'pg';
import type { FastifyBaseLogger as Logger } from 'fastify';
import { accountsWithLapses } from '../../db/balance-queries.js';
import { BackgroundFailures } from '../../lib/background-failures.js';
import { startPeriodic } from '../../lib/periodic.js';
import type { Ledger } from './ledger.js';

/**
 * Balances never count expired credits or holds, whether or not this has run; it writes the expiry
 * and release entries that make the ledger say so, for accounts nobody has touched since.
 */
export function startExpirySweeper(pool: Pool, ledger: Ledger, logger: Logger, intervalMs: number): () => Promise<void> {
  const sweep = async () => {
    const accounts = await accountsWithLapses(pool, 500);
    await Promise.all(accounts.map((accountId) => ledger.settle(accountId)));
    if (accounts.length) logger.info({ accounts: accounts.length }, 'settled expired grants and holds');
  };
  return startPeriodic(sweep, intervalMs, new BackgroundFailures(logger, 'expiry sweep'));
}
