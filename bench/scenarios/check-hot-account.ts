import pg from 'pg';
import type { BenchContext } from './scenario.js';

export interface HotAccountCheck {
  exact: boolean;
  summary: string;
  granted: number;
  available: number;
  held: number;
  acknowledged: number;
  ledgerSum: number;
  spendEntries: number;
  spentInLedger: number;
  grantsRemaining: number;
}

/**
 * The exact check once every spend is answered: what was granted = the balance left + every
 * acknowledged spend; the ledger sums to the balance and holds one spend entry per acknowledgement.
 */
export async function checkHotAccount(context: BenchContext, accountId: string, granted: number, acknowledged: number): Promise<HotAccountCheck> {
  const balance = (await context.client.expect(200, 'GET', `/v1/accounts/${accountId}/balance`)).body as { available: number; held: number };
  const db = new pg.Client({ connectionString: context.databaseUrl });
  await db.connect();
  try {
    const { rows } = await db.query<{ ledger_sum: string; spend_entries: string; spent: string; remaining: string }>(
      `SELECT (SELECT coalesce(sum(amount), 0) FROM ledger_entries WHERE account_id = $1) AS ledger_sum,
              (SELECT count(*) FROM ledger_entries WHERE account_id = $1 AND kind = 'spend') AS spend_entries,
              (SELECT coalesce(-sum(amount), 0) FROM ledger_entries WHERE account_id = $1 AND kind = 'spend') AS spent,
              (SELECT coalesce(sum(remaining), 0) FROM grants WHERE account_id = $1) AS remaining`,
      [accountId],
    );
    const figures = {
      granted,
      available: balance.available,
      held: balance.held,
      acknowledged,
      ledgerSum: Number(rows[0].ledger_sum),
      spendEntries: Number(rows[0].spend_entries),
      spentInLedger: Number(rows[0].spent),
      grantsRemaining: Number(rows[0].remaining),
    };
    const problems = [
      figures.granted !== figures.available + figures.acknowledged && `grant ${figures.granted} ≠ balance ${figures.available} + acknowledged ${figures.acknowledged}`,
      figures.ledgerSum !== figures.available && `ledger sums to ${figures.ledgerSum}, balance says ${figures.available}`,
      figures.spendEntries !== figures.acknowledged && `${figures.spendEntries} spend entries for ${figures.acknowledged} acknowledged`,
      figures.spentInLedger !== figures.acknowledged && `ledger spent ${figures.spentInLedger} for ${figures.acknowledged} acknowledged`,
      figures.grantsRemaining !== figures.available && `grants keep ${figures.grantsRemaining}, balance says ${figures.available}`,
      figures.held !== 0 && `${figures.held} held`,
    ].filter((p): p is string => Boolean(p));
    return {
      ...figures,
      exact: problems.length === 0,
      summary: problems.length ? problems.join('; ') : `${figures.acknowledged.toLocaleString('en-US')} acked = grant − balance = ledger`,
    };
  } finally {
    await db.end();
  }
}
