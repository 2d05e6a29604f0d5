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

/** What a key was first used for: its operation and the fingerprint of its request. */
export type KeyUse = Pick<Idempotency, 'operation' | 'fingerprint'>;

export async function findKeyUse(pool: Pool, key: string): Promise<KeyUse | undefined> {
  const { rows } = await pool.query<KeyUse>('SELECT operation, fingerprint FROM idempotency_records WHERE key = $1', [key]);
  return rows[0];
}

/**
 * Records the first use of a key by a create kept outside the ledger (its result lives in its own
 * row, found again by the id the key fixes), unless the key is recorded already; returns the use the
 * key is recorded with, this one or an earlier.
 */
export async function recordKeyUse(pool: Pool, use: Idempotency): Promise<KeyUse> {
  const { rows } = await pool.query<KeyUse>(
    `INSERT INTO idempotency_records (key, operation, fingerprint, result) VALUES ($1, $2, $3, '{}')
     ON CONFLICT (key) DO NOTHING RETURNING operation, fingerprint`,
    [use.key, use.operation, use.fingerprint],
  );
  // A conflict with a row committed after this statement's snapshot is found by a second look.
  return rows[0] ?? (await findKeyUse(pool, use.key))!;
}
