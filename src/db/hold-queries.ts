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

/** A hold's status as a read shows it: `expired` includes active holds past their time, `active` excludes them. */
export type HoldStatus = HoldState['status'];

/**
 * An account's holds of one status, oldest first, `limit` of them after the hold `after`; whether the
 * account exists, and whether `after` is one of its holds (of any status). Active holds (those that
 * reserve credits, and those past their time that read as expired) are found through
 * holds_active_idx, settled ones through holds_settled_idx, each in order from the cursor on, so a
 * page reads about `limit` rows however many holds the account has.
 */
export async function accountHolds(pool: Pool, accountId: string, status: HoldStatus, limit: number, after?: string): Promise<{ accountExists: boolean; afterKnown: boolean; holds: StoredHold[] }> {
  const { rows } = await pool.query<Partial<HoldRow> & { account_exists: boolean; after_known: boolean }>(
    `WITH after AS (SELECT created_at, id FROM holds WHERE id = $3 AND account_id = $1),
          account AS (
            SELECT EXISTS (SELECT 1 FROM accounts WHERE id = $1) AS account_exists,
                   ($3::text IS NULL OR EXISTS (SELECT 1 FROM after)) AS after_known),
          since AS (SELECT coalesce((SELECT created_at FROM after), '-infinity') AS created_at, coalesce((SELECT id FROM after), '') AS id)
     SELECT account.account_exists, account.after_known, page.hold, page.lapsed FROM account LEFT JOIN LATERAL (
       (SELECT ${HOLD}, h.created_at, h.id FROM holds h
         WHERE account_id = $1 AND status <> 'active' AND status = $4::text::hold_status
           AND (created_at, id) > (SELECT created_at, id FROM since)
         ORDER BY created_at, id LIMIT $2)
       UNION ALL
       (SELECT ${HOLD}, h.created_at, h.id FROM holds h
         WHERE account_id = $1 AND status = 'active' AND $4::text IN ('active', 'expired')
           AND (expires_at <= clock_timestamp()) = ($4::text = 'expired')
           AND (created_at, id) > (SELECT created_at, id FROM since)
         ORDER BY created_at, id LIMIT $2)
       ORDER BY created_at, id LIMIT $2) page ON true`,
    [accountId, limit, after ?? null, status],
  );
  const { account_exists: accountExists, after_known: afterKnown } = rows[0];
  return { accountExists, afterKnown, holds: rows.flatMap((row) => (row.hold ? [storedHold(row as HoldRow)] : [])) };
}

const storedHold = (row: HoldRow): StoredHold => ({ ...toHold(row.hold), lapsed: row.lapsed });
