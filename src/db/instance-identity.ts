import type { Pool } from 'pg';
import { newId } from '../lib/ids.js';

/**
 * This database's Tally instance id (instance_identity), written by the first process to ask. Of two
 * processes starting together on a new database, the second waits on the first's insert and then
 * inserts nothing; its statement's snapshot predates that row, so it reads again in a new statement.
 */
export async function readInstanceId(pool: Pool): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(
    `WITH made AS (INSERT INTO instance_identity (id) VALUES ($1) ON CONFLICT (singleton) DO NOTHING RETURNING id)
     SELECT id FROM made UNION ALL SELECT id FROM instance_identity`,
    [newId('tally')],
  );
  if (rows[0]) return rows[0].id;
  const again = await pool.query<{ id: string }>('SELECT id FROM instance_identity');
  return again.rows[0].id;
}
