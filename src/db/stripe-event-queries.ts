import type { Pool } from 'pg';
import type Stripe from 'stripe';

/** Stores verified events, many in one statement; returns the ids stored now (not redeliveries). */
export async function storeEvents(pool: Pool, events: Stripe.Event[]): Promise<Set<string>> {
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO stripe_events (id, type, api_version, livemode, created, payload)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[], $5::int[], $6::jsonb[])
     ON CONFLICT (id) DO NOTHING RETURNING id`,
    [events.map((e) => e.id), events.map((e) => e.type), events.map((e) => e.api_version), events.map((e) => e.livemode), events.map((e) => e.created), events.map((e) => JSON.stringify(e))],
  );
  return new Set(rows.map((row) => row.id));
}

/**
 * Takes a lease on the events that still need processing, among those named; those done or leased
 * by another worker are left out. The lease outlives a crash: another process takes the event once
 * it lapses.
 */
export async function leaseEvents(pool: Pool, ids: string[], leaseSeconds: number): Promise<Array<{ payload: Stripe.Event; attempts: number }>> {
  const { rows } = await pool.query<{ payload: Stripe.Event; attempts: number }>(
    `UPDATE stripe_events SET locked_until = now() + make_interval(secs => $2), attempts = attempts + 1
     WHERE id = ANY($1::text[]) AND status IN ('pending', 'failed') AND (locked_until IS NULL OR locked_until < now())
     RETURNING payload, attempts`,
    [ids, leaseSeconds],
  );
  return rows;
}

export async function markEvents(pool: Pool, ids: string[], status: 'processed' | 'ignored'): Promise<void> {
  if (ids.length === 0) return;
  await pool.query(`UPDATE stripe_events SET status = $2, processed_at = now(), locked_until = NULL, last_error = NULL WHERE id = ANY($1::text[])`, [ids, status]);
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
