import type { Pool } from 'pg';

export interface BalanceRow {
  id: string;
  now: Date;
  grants: Array<{ id: string; source: string; amount: number; remaining: number; expiresAt: string | null; createdAt: string }>;
  holds: Array<{ amount: number; expiresAt: string; allocations: Array<{ grantId: string; amount: number }> }>;
}

/**
 * Reads the state behind the balances of many accounts in one statement: grants with credits left
 * (or owed credits by a hold that has run out), and active holds. Expiry is judged by the caller against `now`, the database's clock.
 */
export async function loadBalances(pool: Pool, accountIds: string[]): Promise<Map<string, BalanceRow>> {
  const { rows } = await pool.query<BalanceRow>(
    `SELECT a.id, t.now,
       (SELECT coalesce(json_agg(json_build_object('id', g.id, 'source', g.source, 'amount', g.amount, 'remaining', g.remaining,
                 'expiresAt', g.expires_at, 'createdAt', g.created_at)), '[]')
          FROM grants g WHERE g.account_id = a.id AND (g.remaining > 0 OR g.id IN (
            SELECT x->>'grantId' FROM holds h, jsonb_array_elements(h.allocations) x
            WHERE h.account_id = a.id AND h.status = 'active' AND h.expires_at <= t.now))) AS grants,
       (SELECT coalesce(json_agg(json_build_object('amount', h.amount, 'expiresAt', h.expires_at, 'allocations', h.allocations)), '[]')
          FROM holds h WHERE h.account_id = a.id AND h.status = 'active') AS holds
     FROM accounts a, (SELECT clock_timestamp() AS now) t
     WHERE a.id = ANY($1::text[])`,
    [accountIds],
  );
  return new Map(rows.map((row) => [row.id, row]));
}

/** Accounts with something past its time and not yet written off: grants with credits left, or active holds. */
export async function accountsWithLapses(pool: Pool, limit: number): Promise<string[]> {
  const { rows } = await pool.query<{ account_id: string }>(
    `(SELECT account_id FROM grants WHERE remaining > 0 AND expires_at <= now() LIMIT $1)
     UNION
     (SELECT account_id FROM holds WHERE status = 'active' AND expires_at <= now() LIMIT $1)`,
    [limit],
  );
  return rows.map((row) => row.account_id);
}
