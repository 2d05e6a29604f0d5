import type { Pool } from 'pg';
import type Stripe from 'stripe';

/**
 * Stores verified events (their JSON text, as received), many in one statement, leased to the
 * process that stores them (the first attempt): it processes them straight away, and another
 * process takes them only once the lease lapses. Returns the ids stored now (not redeliveries).
 */
export async function storeEvents(pool: Pool, payloads: string[], leaseSeconds: number): Promise<Set<string>> {
  // One JSON array parameter: the texts travel as they are, with no array-literal escaping.
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO stripe_events (id, type, api_version, livemode, created, payload, attempts, locked_until)
     SELECT e->>'id', e->>'type', e->>'api_version', coalesce((e->>'livemode')::bool, false), (e->>'created')::int, e, 1, now() + make_interval(secs => $2)
     FROM jsonb_array_elements($1::jsonb) AS e
     ON CONFLICT (id) DO NOTHING RETURNING id`,
    [`[${payloads.join(',')}]`, leaseSeconds],
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

/**
 * Gives back the leases a stopping process took when it stored these events and will not use: the
 * events are due at once for another process (or this one, restarted), instead of after the lease.
 * Only first leases (`attempts = 1`): an event whose lease lapsed and was taken again is another's.
 */
export async function releaseEvents(pool: Pool, ids: string[]): Promise<void> {
  await pool.query(
    `UPDATE stripe_events SET locked_until = NULL, attempts = 0
     WHERE id = ANY($1::text[]) AND status = 'pending' AND attempts = 1`,
    [ids],
  );
}

/** Marks events done, processed or ignored, in one statement. */
export async function markEvents(pool: Pool, processed: string[], ignored: string[]): Promise<void> {
  if (processed.length + ignored.length === 0) return;
  await pool.query(
    `UPDATE stripe_events e SET status = d.status::stripe_event_status, processed_at = now(), locked_until = NULL, last_error = NULL
     FROM unnest($1::text[], $2::text[]) AS d(id, status) WHERE e.id = d.id`,
    [[...processed, ...ignored], [...processed.map(() => 'processed'), ...ignored.map(() => 'ignored')]],
  );
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

/** Which of these events are stored already (delivered by a webhook, or caught up before). */
export async function storedEventIds(pool: Pool, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const { rows } = await pool.query<{ id: string }>('SELECT id FROM stripe_events WHERE id = ANY($1::text[])', [ids]);
  return new Set(rows.map((row) => row.id));
}

/** Events still to be processed, by status (pending: not yet tried or in its first attempt; failed: waiting to be retried), and the age of the oldest. */
export async function eventBacklog(pool: Pool): Promise<Array<{ status: 'pending' | 'failed'; count: number; oldestSeconds: number }>> {
  const { rows } = await pool.query<{ status: 'pending' | 'failed'; count: string; oldest_seconds: number }>(
    `SELECT status::text, count(*) AS count, extract(epoch FROM now() - min(received_at))::float8 AS oldest_seconds
     FROM stripe_events WHERE status IN ('pending', 'failed') GROUP BY status`,
  );
  return rows.map((row) => ({ status: row.status, count: Number(row.count), oldestSeconds: row.oldest_seconds }));
}
