import type { Pool } from 'pg';

export interface BalanceRow {
  id: string;
  now: Date;
  grants: Array<{ id: string; source: string; amount: number; remaining: number; expiresAt: string | null; createdAt: string }>;
  holds: Array<{ amount: number; expiresAt: string; allocations: Array<{ grantId: string; amount: number }> }>;
}

interface FlatRow {
  t: 'a' | 'g' | 'h';
  account_id: string;
  id: string | null;
  source: string | null;
  amount: number | null;
  remaining: number | null;
  expires_at: Date | null;
  created_at: Date | null;
  allocations: Array<{ grantId: string; amount: number }> | null;
  now: Date;
}

/**
 * Reads the state behind the balances of many accounts in one statement (one snapshot): the
 * accounts, their grants with credits left (or owed credits by a hold that has run out) and their
 * active holds, as flat rows found through indexes. Expiry is judged by the caller against `now`,
 * the database's clock.
 */
export async function loadBalances(pool: Pool, accountIds: string[]): Promise<Map<string, BalanceRow>> {
  // Named: prepared once per connection, so PostgreSQL does not parse and plan it for every batch.
  const { rows } = await pool.query<FlatRow>({
    name: 'tally_balances',
    text: `WITH t AS (SELECT clock_timestamp() AS now)
     SELECT 'a' AS t, id AS account_id, NULL::text AS id, NULL::text AS source, NULL::bigint AS amount, NULL::bigint AS remaining,
            NULL::timestamptz AS expires_at, NULL::timestamptz AS created_at, NULL::jsonb AS allocations, t.now
       FROM accounts, t WHERE id = ANY($1::text[])
     UNION ALL
     SELECT 'g', account_id, id, source, amount, remaining, expires_at, created_at, NULL, t.now
       FROM grants, t WHERE account_id = ANY($1::text[]) AND remaining > 0
     UNION ALL
     SELECT 'h', account_id, id, NULL, amount, NULL, expires_at, created_at, allocations, t.now
       FROM holds, t WHERE account_id = ANY($1::text[]) AND status = 'active'
     UNION ALL
     SELECT 'g', g.account_id, g.id, g.source, g.amount, g.remaining, g.expires_at, g.created_at, NULL, t.now
       FROM grants g, t WHERE g.remaining = 0 AND g.id = ANY(ARRAY(
         SELECT x->>'grantId' FROM holds h, jsonb_array_elements(h.allocations) x, t
         WHERE h.account_id = ANY($1::text[]) AND h.status = 'active' AND h.expires_at <= t.now))`,
    values: [accountIds],
  });
  const balances = new Map<string, BalanceRow>();
  for (const row of rows) if (row.t === 'a') balances.set(row.account_id, { id: row.account_id, now: row.now, grants: [], holds: [] });
  for (const row of rows) {
    const balance = balances.get(row.account_id);
    if (!balance || row.t === 'a') continue;
    if (row.t === 'g') {
      balance.grants.push({ id: row.id!, source: row.source!, amount: Number(row.amount), remaining: Number(row.remaining), expiresAt: row.expires_at?.toISOString() ?? null, createdAt: row.created_at!.toISOString() });
    } else {
      balance.holds.push({ amount: Number(row.amount), expiresAt: row.expires_at!.toISOString(), allocations: row.allocations ?? [] });
    }
  }
  return balances;
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
