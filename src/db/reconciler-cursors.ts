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
