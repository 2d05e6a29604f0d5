import type pg from 'pg';
import type { PaidSession } from './checkout-events.js';

export interface GrantedOnceCheck {
  exact: boolean;
  /** Sessions whose account does not hold exactly one grant of the session's credits. */
  wrong: number;
  examples: Array<Record<string, unknown>>;
}

/**
 * Each paid session granted exactly once: its account (which has no other credits) holds one grant
 * of the session's credits, one grant entry in the ledger, and the ledger sums to those credits.
 */
export async function checkGrantedOnce(db: pg.Client, sessions: PaidSession[]): Promise<GrantedOnceCheck> {
  const { rows } = await db.query<{ session_id: string; account_id: string; credits: string; grants: string; granted: string; grant_entries: string; ledger_sum: string }>(
    `SELECT s.session_id, s.account_id, s.credits,
       (SELECT count(*) FROM grants g WHERE g.account_id = s.account_id) AS grants,
       (SELECT coalesce(sum(g.amount), 0) FROM grants g WHERE g.account_id = s.account_id) AS granted,
       (SELECT count(*) FROM ledger_entries e WHERE e.account_id = s.account_id AND e.kind = 'grant') AS grant_entries,
       (SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e WHERE e.account_id = s.account_id) AS ledger_sum
     FROM unnest($1::text[], $2::text[], $3::bigint[]) AS s(session_id, account_id, credits)`,
    [sessions.map((s) => s.id), sessions.map((s) => s.accountId), sessions.map((s) => s.credits)],
  );
  const wrong = rows.filter(
    (row) => Number(row.grants) !== 1 || Number(row.granted) !== Number(row.credits) || Number(row.grant_entries) !== 1 || Number(row.ledger_sum) !== Number(row.credits),
  );
  return { exact: wrong.length === 0 && rows.length === sessions.length, wrong: wrong.length, examples: wrong.slice(0, 5) };
}
