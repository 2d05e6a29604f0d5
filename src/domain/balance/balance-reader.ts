import type { Pool } from 'pg';
import { NotFoundFailure } from '../../errors.js';
import { Batcher } from '../../lib/batcher.js';
import { loadBalances } from '../../db/balance-queries.js';
import { computeBalance, type Balance } from './compute-balance.js';

/**
 * Balance reads that arrive together share one query, one query at a time: the reads that arrive while
 * one runs share the next (two at a time made smaller, costlier queries: bench/HISTORY.md). A read
 * joins only a query that starts after it arrived, so it never returns a balance older than a spend
 * already acknowledged to anyone.
 */
export class BalanceReader {
  private readonly batcher: Batcher<string, Balance | undefined>;

  constructor(pool: Pool) {
    this.batcher = new Batcher(
      async (accountIds) => {
        const rows = await loadBalances(pool, [...new Set(accountIds)]);
        return accountIds.map((id) => {
          const row = rows.get(id);
          return row ? computeBalance(row) : undefined;
        });
      },
      { maxBatch: 512, maxConcurrent: 1 },
    );
  }

  async read(accountId: string): Promise<Balance> {
    const balance = await this.batcher.submit(accountId);
    if (!balance) throw new NotFoundFailure('account', accountId);
    return balance;
  }
}
