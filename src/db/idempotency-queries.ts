import type { Pool } from 'pg';
import type { Idempotency } from '../domain/ledger/types.js';

/**
 * Deletes up to `limit` idempotency records older than `retentionHours`, oldest first (through the
 * created_at index); returns how many went. Two processes purging at once only share the work.
 */
export async function purgeIdempotencyRecords(pool: Pool, retentionHours: number, limit: number): Promise<number> {
  const { rowCount } = await pool.query(
    `DELETE FROM idempotency_records WHERE key IN (
       SELECT key FROM idempotency_records WHERE created_at < now() - make_interval(hours => $1::int)
       ORDER BY created_at LIMIT $2::int)`,
    [retentionHours, limit],
  );
  return rowCount ?? 0;
}

/** What a key was first used for: its operation and the fingerprint of its request, and what its create kept (`keepKeyResult`; empty until then). */
export type KeyUse = Pick<Idempotency, 'operation' | 'fingerprint'> & { result: Record<string, unknown> };

/**
 * How a request stands to a key: `claimed`, it recorded the key's first use; `running`, it is counted
 * among the requests making the create under it (the claim, or the same request sent again while that
 * create is still being made); `first`, the use the key is recorded with.
 */
export interface KeyStanding {
  claimed: boolean;
  running: boolean;
  first: KeyUse;
}

const KEY_USE = 'operation, fingerprint, result';

/**
 * Records the use of a key by a create kept outside the ledger (its result lives in its own row, found
 * again by the id the key fixes), unless the key is recorded already; counts the request among those
 * making the create while none has made it yet. The primary key settles two requests racing with one
 * new key: one claims it, the other meets the claim.
 */
export async function claimKeyUse(pool: Pool, use: Idempotency): Promise<KeyStanding> {
  const values = [use.key, use.operation, use.fingerprint];
  const claim = await pool.query<KeyUse>(
    `INSERT INTO idempotency_records (key, operation, fingerprint, result, creates_running) VALUES ($1, $2, $3, '{}', 1)
     ON CONFLICT (key) DO NOTHING RETURNING ${KEY_USE}`,
    values,
  );
  if (claim.rows[0]) return { claimed: true, running: true, first: claim.rows[0] };
  // The same request, while its create is still being made: counted, so that the claim is not given
  // back when one of them fails while another makes the create.
  const join = await pool.query<KeyUse>(
    `UPDATE idempotency_records SET creates_running = creates_running + 1
     WHERE key = $1 AND operation = $2 AND fingerprint = $3 AND creates_running IS NOT NULL RETURNING ${KEY_USE}`,
    values,
  );
  if (join.rows[0]) return { claimed: false, running: true, first: join.rows[0] };
  // Made already, or another request's; a conflict with a row committed after the first statement's
  // snapshot is found here too.
  const { rows } = await pool.query<KeyUse>(`SELECT ${KEY_USE} FROM idempotency_records WHERE key = $1`, [use.key]);
  // Given back meanwhile (its create failed): the key is free again.
  return rows[0] ? { claimed: false, running: false, first: rows[0] } : claimKeyUse(pool, use);
}

/**
 * A create made under the key: the key is that object's for good (never given back), and keeps what
 * the first to make it kept (`result`: for a create whose result the key alone does not lead back to,
 * a checkout, whose session Stripe names), so that a replay answers it without making the create again
 * (which, with the pack's price changed meanwhile, would open a second session).
 */
export async function keyCreateMade(pool: Pool, use: Idempotency, result: Record<string, unknown> | undefined): Promise<void> {
  await pool.query(
    `UPDATE idempotency_records SET creates_running = NULL, result = CASE WHEN $4::jsonb IS NULL THEN result ELSE $4::jsonb END
     WHERE key = $1 AND operation = $2 AND fingerprint = $3 AND creates_running IS NOT NULL`,
    [use.key, use.operation, use.fingerprint, result === undefined ? null : JSON.stringify(result)],
  );
}

/**
 * A create under the key failed: the request is no longer counted, and the last of those counted gives
 * the key back, so that it can be retried, corrected. Never once the create was made under it. A request
 * that joins between the two statements is counted again, and the delete leaves the key to it.
 */
export async function keyCreateFailed(pool: Pool, use: Idempotency): Promise<void> {
  const { rows } = await pool.query<{ running: number }>(
    `UPDATE idempotency_records SET creates_running = creates_running - 1
     WHERE key = $1 AND operation = $2 AND fingerprint = $3 AND creates_running > 0 RETURNING creates_running AS running`,
    [use.key, use.operation, use.fingerprint],
  );
  if (rows[0]?.running === 0) await pool.query('DELETE FROM idempotency_records WHERE key = $1 AND creates_running = 0', [use.key]);
}
