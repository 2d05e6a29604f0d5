import type { Pool } from 'pg';
import type { HoldState } from '../domain/ledger/types.js';
import { toHold, type HoldJson } from './ledger-queries.js';

/** A hold as stored, and whether its time ran out before it was settled (judged by the database's clock). */
export type StoredHold = HoldState & { lapsed: boolean };

type HoldRow = { hold: HoldJson; lapsed: boolean };

const HOLD = `row_to_json(h) AS hold, (h.status = 'active' AND h.expires_at <= clock_timestamp()) AS lapsed`;

export async function findHold(pool: Pool, id: string): Promise<StoredHold | undefined> {
  const { rows } = await pool.query<HoldRow>(`SELECT ${HOLD} FROM holds h WHERE id = $1`, [id]);
  return rows[0] && storedHold(rows[0]);
}

/**
 * An account's holds that still reserve credits (active and not past their time), oldest first,
 * `limit` of them after the hold `after`; whether the account exists, and whether `after` is one of
 * its holds (settled or not). Found through holds_active_idx, so settled holds cost nothing here
 * however many there are.
 */
export async function reservingHolds(pool: Pool, accountId: string, limit: number, after?: string): Promise<{ accountExists: boolean; afterKnown: boolean; holds: StoredHold[] }> {
  const { rows } = await pool.query<Partial<HoldRow> & { account_exists: boolean; after_known: boolean }>(
    `WITH after AS (SELECT created_at, id FROM holds WHERE id = $3 AND account_id = $1),
          account AS (
            SELECT EXISTS (SELECT 1 FROM accounts WHERE id = $1) AS account_exists,
                   ($3::text IS NULL OR EXISTS (SELECT 1 FROM after)) AS after_known)
     SELECT account.account_exists, account.after_known, page.* FROM account LEFT JOIN LATERAL (
       SELECT ${HOLD} FROM holds h
        WHERE account_id = $1 AND status = 'active' AND expires_at > clock_timestamp()
          AND ($3::text IS NULL OR (created_at, id) > (SELECT created_at, id FROM after))
        ORDER BY created_at, id LIMIT $2) page ON true`,
    [accountId, limit, after ?? null],
  );
  const { account_exists: accountExists, after_known: afterKnown } = rows[0];
  return { accountExists, afterKnown, holds: rows.flatMap((row) => (row.hold ? [storedHold(row as HoldRow)] : [])) };
}

const storedHold = (row: HoldRow): StoredHold => ({ ...toHold(row.hold), lapsed: row.lapsed });
