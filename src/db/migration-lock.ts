import pg from 'pg';

/** The session lock Prisma's schema engine (and so `prisma migrate deploy`) holds while it migrates. */
export const PRISMA_MIGRATE_LOCK = 72707369;
const SAY_AGAIN_MS = 10_000;

/**
 * Runs `read` holding Prisma's migration lock, waited for as long as another process holds it. The
 * engine itself gives up after 10 s, and a migration (an index on a big table, a backfill) can take
 * longer: a start beside another that is migrating would fail instead of waiting for it. Under the
 * lock, a migration recorded unfinished is one that failed, not one in progress.
 */
export async function underMigrationLock<T>(databaseUrl: string, notice: (line: string) => void, read: () => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    const taken = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [PRISMA_MIGRATE_LOCK]);
    if (!taken.rows[0].locked) {
      const holder = await client.query<{ pid: number }>(
        `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid = $1 AND objsubid = 1 AND granted`,
        [PRISMA_MIGRATE_LOCK],
      );
      const who = holder.rows[0] ? `PostgreSQL backend ${holder.rows[0].pid} holds Prisma's migration lock` : `Prisma's migration lock is held`;
      notice(`another process is applying migrations to this database (${who}): waiting for it`);
      const started = Date.now();
      const timer = setInterval(() => notice(`still waiting for the other process's migrations (${Math.round((Date.now() - started) / 1000)} s)`), SAY_AGAIN_MS);
      try {
        await client.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATE_LOCK]);
      } finally {
        clearInterval(timer);
      }
    }
    try {
      return await read();
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_MIGRATE_LOCK]);
    }
  } finally {
    await client.end();
  }
}
