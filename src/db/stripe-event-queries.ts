import type { Pool } from 'pg';
import type Stripe from 'stripe';

/** Stores a verified event once; false when it was stored before (a redelivery). */
export async function storeEvent(pool: Pool, event: Stripe.Event): Promise<boolean> {
  const { rowCount } = await pool.query(
    `INSERT INTO stripe_events (id, type, api_version, livemode, created, payload)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
    [event.id, event.type, event.api_version, event.livemode, event.created, JSON.stringify(event)],
  );
  return rowCount === 1;
}

/**
 * Takes a lease on an event that still needs processing; undefined when it is done or another
 * worker holds it. The lease outlives a crash: another process takes the event once it lapses.
 */
export async function leaseEvent(pool: Pool, id: string, leaseSeconds: number): Promise<Stripe.Event | undefined> {
  const { rows } = await pool.query<{ payload: Stripe.Event }>(
    `UPDATE stripe_events SET locked_until = now() + make_interval(secs => $2), attempts = attempts + 1
     WHERE id = $1 AND status IN ('pending', 'failed') AND (locked_until IS NULL OR locked_until < now())
     RETURNING payload`,
    [id, leaseSeconds],
  );
  return rows[0]?.payload;
}

export async function markEvent(pool: Pool, id: string, status: 'processed' | 'ignored'): Promise<void> {
  await pool.query(`UPDATE stripe_events SET status = $2, processed_at = now(), locked_until = NULL, last_error = NULL WHERE id = $1`, [id, status]);
}

export async function markEventFailed(pool: Pool, id: string, error: string, retryInSeconds: number): Promise<void> {
  await pool.query(
    `UPDATE stripe_events SET status = 'failed', last_error = $2, locked_until = NULL, next_attempt_at = now() + make_interval(secs => $3) WHERE id = $1`,
    [id, error.slice(0, 2000), retryInSeconds],
  );
}

/** Events due for (another) attempt, oldest first. */
export async function dueEvents(pool: Pool, limit: number): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `SELECT id FROM stripe_events
     WHERE status IN ('pending', 'failed') AND next_attempt_at <= now() AND (locked_until IS NULL OR locked_until < now())
     ORDER BY created, received_at LIMIT $1`,
    [limit],
  );
  return rows.map((row) => row.id);
}
