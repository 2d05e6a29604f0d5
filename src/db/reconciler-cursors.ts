import type { Pool } from 'pg';

/** Where the pass named `name` has got to (Stripe's `created`, unix seconds), if it ever ran. */
export async function readCursor(pool: Pool, name: string): Promise<number | undefined> {
  const { rows } = await pool.query<{ position: number }>('SELECT position FROM reconciler_cursors WHERE name = $1', [name]);
  return rows[0]?.position;
}

/** Moves the pass's cursor forward (never back: two processes' passes may finish in any order). */
export async function advanceCursor(pool: Pool, name: string, position: number): Promise<void> {
  await pool.query(
    `INSERT INTO reconciler_cursors (name, position) VALUES ($1, $2)
     ON CONFLICT (name) DO UPDATE SET position = GREATEST(reconciler_cursors.position, excluded.position), updated_at = now()`,
    [name, position],
  );
}

/** A cursor's first pass looks this far back: Stripe retries a webhook for about three days. */
export const FIRST_LOOKBACK_SECONDS = 3 * 86_400;

/**
 * The window of Stripe's `created` times a cursor's pass reads: from where the last pass got to (the
 * first looks back FIRST_LOOKBACK_SECONDS) up to `olderThanSeconds` ago. Undefined when there is
 * nothing new to read yet. `until` is Tally's clock: a pass moves the cursor only to times Stripe
 * stamped on what it read.
 */
export async function cursorWindow(pool: Pool, name: string, olderThanSeconds: number): Promise<{ from: number; until: number } | undefined> {
  const until = Math.floor(Date.now() / 1000) - olderThanSeconds;
  const from = (await readCursor(pool, name)) ?? until - FIRST_LOOKBACK_SECONDS;
  return from > until ? undefined : { from, until };
}
