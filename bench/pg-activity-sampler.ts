import pg from 'pg';

/**
 * How many backends were, on average, in each state while something ran: on CPU, waiting for the WAL
 * (commits), for a lock, or idle inside a transaction, that is, waiting for the client's next statement.
 */
export interface PgActivity {
  samples: number;
  onCpu: number;
  wal: number;
  lock: number;
  otherWait: number;
  waitingForClientInTransaction: number;
}

const CATEGORIES = `
  CASE
    WHEN state = 'idle in transaction' THEN 'waitingForClientInTransaction'
    WHEN state <> 'active' THEN NULL
    WHEN wait_event_type IS NULL THEN 'onCpu'
    WHEN wait_event ILIKE 'wal%' THEN 'wal'
    WHEN wait_event_type = 'Lock' THEN 'lock'
    ELSE 'otherWait'
  END`;

/** Samples pg_stat_activity every 50 ms for the backends of `applicationName` ('' is Tally's pool). */
export async function startPgActivitySampler(url: string, applicationName: string): Promise<{ stop(): Promise<PgActivity> }> {
  const client = new pg.Client({ connectionString: url, application_name: 'tally-bench-sampler' });
  await client.connect();
  const totals: PgActivity = { samples: 0, onCpu: 0, wal: 0, lock: 0, otherWait: 0, waitingForClientInTransaction: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      const { rows } = await client.query<{ category: keyof PgActivity; n: string }>(
        `SELECT ${CATEGORIES} AS category, count(*) AS n FROM pg_stat_activity
         WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND application_name = $1 GROUP BY 1`,
        [applicationName],
      );
      totals.samples++;
      for (const row of rows) if (row.category) totals[row.category] += Number(row.n);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })().catch(() => {
    // the server went away: what was sampled so far stands
  });
  return {
    async stop() {
      running = false;
      await loop;
      await client.end().catch(() => {});
      const average = (n: number) => Math.round((n / (totals.samples || 1)) * 100) / 100;
      return {
        samples: totals.samples,
        onCpu: average(totals.onCpu),
        wal: average(totals.wal),
        lock: average(totals.lock),
        otherWait: average(totals.otherWait),
        waitingForClientInTransaction: average(totals.waitingForClientInTransaction),
      };
    },
  };
}

/** Several sampled slices as one, weighted by their samples. */
export function combinePgActivity(parts: PgActivity[]): PgActivity {
  const samples = parts.reduce((sum, p) => sum + p.samples, 0) || 1;
  const weighted = (pick: (p: PgActivity) => number) => Math.round((parts.reduce((sum, p) => sum + pick(p) * p.samples, 0) / samples) * 100) / 100;
  return {
    samples,
    onCpu: weighted((p) => p.onCpu),
    wal: weighted((p) => p.wal),
    lock: weighted((p) => p.lock),
    otherWait: weighted((p) => p.otherWait),
    waitingForClientInTransaction: weighted((p) => p.waitingForClientInTransaction),
  };
}

/** Transactions committed so far in the database of `url` (pg_stat_database; refreshed per call). */
export async function countCommits(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url, application_name: 'tally-bench-sampler' });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>('SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()');
    return Number(rows[0].n);
  } finally {
    await client.end();
  }
}
