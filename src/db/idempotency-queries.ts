import type { Pool } from 'pg';

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
