import type { Pool } from 'pg';
import type { Debt } from '../domain/ledger/types.js';

export interface BalanceRow {
  id: string;
  now: Date;
  grants: Array<{ id: string; source: string; amount: number; remaining: number; expiresAt: string | null; createdAt: string; debts: Debt[] }>;
  holds: Array<{ amount: number; expiresAt: string; allocations: Array<{ grantId: string; amount: number }> }>;
}

/** One batch's answer: each grant as [accountId, id, source, amount, remaining, expiresAt, createdAt, debts], each hold as [accountId, amount, expiresAt, allocations]. */
interface BatchRow {
  now: Date;
  accounts: string[];
  grants: Array<[string, string, string, number, number, string | null, string, Debt[]]> | null;
  holds: Array<[string, number, string, Array<{ grantId: string; amount: number }>]> | null;
}

/**
 * Reads the state behind the balances of many accounts in one statement (one snapshot): the
 * accounts, their grants with credits left (or given credits back by a hold that has run out), with
 * what they owe revocations, and their active holds, found through indexes. The batch comes back as one row of JSON arrays, which Node
 * parses in one native JSON.parse each rather than field by field. Expiry is judged by the caller
 * against `now`, the database's clock.
 */
export async function loadBalances(pool: Pool, accountIds: string[]): Promise<Map<string, BalanceRow>> {
  // Named: prepared once per connection, so PostgreSQL does not parse and plan it for every batch.
  const { rows } = await pool.query<BatchRow>({
    name: 'tally_balances',
    text: `WITH t AS (SELECT clock_timestamp() AS now)
     SELECT t.now,
       ARRAY(SELECT id FROM accounts WHERE id = ANY($1::text[])) AS accounts,
       (SELECT json_agg(json_build_array(g.account_id, g.id, g.source, g.amount, g.remaining, g.expires_at, g.created_at, g.debts)) FROM (
          SELECT account_id, id, source, amount, remaining, expires_at, created_at, debts
            FROM grants WHERE account_id = ANY($1::text[]) AND remaining > 0
          UNION ALL
          SELECT account_id, id, source, amount, remaining, expires_at, created_at, debts
            FROM grants WHERE remaining = 0 AND id = ANY(ARRAY(
              SELECT x->>'grantId' FROM holds h, jsonb_array_elements(h.allocations) x
              WHERE h.account_id = ANY($1::text[]) AND h.status = 'active' AND h.expires_at <= t.now))
        ) g) AS grants,
       (SELECT json_agg(json_build_array(account_id, amount, expires_at, allocations))
          FROM holds WHERE account_id = ANY($1::text[]) AND status = 'active') AS holds
     FROM t`,
    values: [accountIds],
  });
  const batch = rows[0]!;
  const balances = new Map<string, BalanceRow>();
  for (const id of batch.accounts) balances.set(id, { id, now: batch.now, grants: [], holds: [] });
  for (const [accountId, id, source, amount, remaining, expiresAt, createdAt, debts] of batch.grants ?? []) {
    balances.get(accountId)?.grants.push({ id, source, amount, remaining, expiresAt, createdAt, debts });
  }
  for (const [accountId, amount, expiresAt, allocations] of batch.holds ?? []) {
    balances.get(accountId)?.holds.push({ amount, expiresAt, allocations });
  }
  return balances;
}

/** What one look for lapses found (accountsWithLapses). */
export interface Lapses {
  accounts: string[];
  /** The database's clock when it looked: everything that lapsed by then, since `since`, was seen… */
  at: Date;
  /** …unless the grants found reached the limit: more may be left. */
  more: boolean;
}

/** $1: the limit of each kind, $2: since. */
export const LAPSES_SQL = `SELECT t.now AS at,
   ARRAY(SELECT account_id FROM grants WHERE expires_at > coalesce($2::timestamptz, '-infinity') AND expires_at <= t.now AND remaining > 0 LIMIT $1) AS grants,
   ARRAY(SELECT account_id FROM holds WHERE status = 'active' AND expires_at <= t.now LIMIT $1) AS holds
 FROM (SELECT now() AS now) t`;

/**
 * Accounts with something past its time and not yet written off: grants with credits left that
 * expired after `since` (any time, when null), or active holds. Both through partial indexes
 * (grants_expires_at_idx, holds_active_expiry_idx), so a look since a recent moment reads only what
 * expired since, not every grant that ever did.
 */
export async function accountsWithLapses(pool: Pool, limit: number, since: Date | null): Promise<Lapses> {
  const { rows } = await pool.query<{ at: Date; grants: string[]; holds: string[] }>(LAPSES_SQL, [limit, since]);
  const { at, grants, holds } = rows[0];
  return { accounts: [...new Set([...grants, ...holds])], at, more: grants.length >= limit };
}
