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

async function findKeyUse(pool: Pool, key: string): Promise<KeyUse | undefined> {
  const { rows } = await pool.query<KeyUse>('SELECT operation, fingerprint, result FROM idempotency_records WHERE key = $1', [key]);
  return rows[0];
}

/**
 * Records the use of a key by a create kept outside the ledger (its result lives in its own row, found
 * again by the id the key fixes), unless the key is recorded already. `claimed` says this call wrote
 * it; `first` is the use the key is recorded with, this one or an earlier. The primary key settles
 * two requests racing with one new key: one claims it, the other meets the claim.
 */
export async function claimKeyUse(pool: Pool, use: Idempotency): Promise<{ claimed: boolean; first: KeyUse }> {
  const { rows } = await pool.query<KeyUse>(
    `INSERT INTO idempotency_records (key, operation, fingerprint, result) VALUES ($1, $2, $3, '{}')
     ON CONFLICT (key) DO NOTHING RETURNING operation, fingerprint, result`,
    [use.key, use.operation, use.fingerprint],
  );
  if (rows[0]) return { claimed: true, first: rows[0] };
  // A conflict with a row committed after this statement's snapshot is found by a second look.
  const first = await findKeyUse(pool, use.key);
  // Released meanwhile (its create failed): the key is free again.
  return first ? { claimed: false, first } : claimKeyUse(pool, use);
}

/**
 * Keeps with a claimed key what its create made, for a create whose result the key alone does not
 * lead back to (a checkout: Stripe names the session), so that a replay answers it without running the
 * create again (which, with the pack's price changed meanwhile, would open a second session).
 */
export async function keepKeyResult(pool: Pool, use: Idempotency, result: Record<string, unknown>): Promise<void> {
  await pool.query('UPDATE idempotency_records SET result = $4 WHERE key = $1 AND operation = $2 AND fingerprint = $3', [use.key, use.operation, use.fingerprint, JSON.stringify(result)]);
}

/** Gives a claimed key back when its create failed, so that it can be retried, corrected. */
export async function releaseKeyUse(pool: Pool, use: Idempotency): Promise<void> {
  await pool.query('DELETE FROM idempotency_records WHERE key = $1 AND operation = $2 AND fingerprint = $3', [use.key, use.operation, use.fingerprint]);
}
