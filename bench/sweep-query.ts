// npm run bench:sweep — what one look of the expiry sweeper costs on a large grants table, and
// whether spends still update grants in place (HOT) beside the index it reads through. On an embedded
// PostgreSQL: SWEEP_GRANTS grants (a million unless told), nine in ten expired long ago and written
// off, the rest live, and a few that lapsed a moment ago. Times, in the same run:
// - before: the query the sweeper sent until 20261203190000_grants_expiry_index, every grant read;
// - first pass: the sweeper's first look after a start, at every grant that ever expired;
// - later pass: each look after that, at what expired since the last (LAPSE_OVERLAP_MS before it).
// Prints each one's median and 90th percentile, and later pass against before.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { LAPSES_SQL } from '../src/db/balance-queries.js';
import { HeldConnections } from '../src/db/held-connections.js';
import { LAPSE_OVERLAP_MS, SWEEP_LIMIT } from '../src/domain/ledger/expiry-sweeper.js';
import { runLedgerBatch, type LedgerRequest } from '../src/domain/ledger/run-ledger-batch.js';
import { newId } from '../src/lib/ids.js';
import { openBenchDatabase } from './bench-database.js';

const GRANTS = Number(process.env.SWEEP_GRANTS ?? 1_000_000);
const ACCOUNTS = Math.max(1, Math.floor(GRANTS / 10));
const RUNS = Number(process.env.SWEEP_RUNS ?? 30);
const SPENDS = 2_000;

const BEFORE_SQL = `(SELECT account_id FROM grants WHERE remaining > 0 AND expires_at <= now() LIMIT $1)
  UNION
  (SELECT account_id FROM holds WHERE status = 'active' AND expires_at <= now() LIMIT $1)`;

const db = await openBenchDatabase(undefined, console.log);
try {
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  console.log(`seeding ${GRANTS.toLocaleString('en')} grants on ${ACCOUNTS.toLocaleString('en')} accounts`);
  await pool.query(`INSERT INTO accounts (id) SELECT 'acct-' || n FROM generate_series(1, ${ACCOUNTS}) n`);
  // Each account's last grant is live (a tenth of them); the others expired over the last 400 days.
  await pool.query(
    `INSERT INTO grants (id, account_id, source, amount, remaining, expires_at)
     SELECT 'grt-' || n, 'acct-' || (n % ${ACCOUNTS} + 1), 'bench',
            1000, CASE WHEN n > ${GRANTS - ACCOUNTS} THEN 1000 ELSE 0 END,
            CASE WHEN n > ${GRANTS - ACCOUNTS} THEN now() + interval '30 days' ELSE now() - interval '400 days' + n * (interval '400 days' / ${GRANTS}) - interval '1 hour' END
     FROM generate_series(1, ${GRANTS}) n`,
  );
  await pool.query(
    `INSERT INTO ledger_entries (account_id, kind, amount, held_change, available_after, held_after)
     SELECT 'acct-' || n, 'grant', 1000, 0, 1000, 0 FROM generate_series(1, ${ACCOUNTS}) n`,
  );
  await pool.query(`UPDATE grants SET remaining = 1, expires_at = now() - interval '1 second' WHERE id IN ('grt-1', 'grt-2', 'grt-3')`);
  await pool.query('VACUUM ANALYZE grants');

  const since = new Date(Date.now() - LAPSE_OVERLAP_MS - 5_000);
  const looks: Array<[string, string, unknown[]]> = [
    ['before', BEFORE_SQL, [SWEEP_LIMIT]],
    ['first pass', LAPSES_SQL, [SWEEP_LIMIT, null]],
    ['later pass', LAPSES_SQL, [SWEEP_LIMIT, since]],
  ];
  const timings = new Map<string, number[]>(looks.map(([name]) => [name, []]));
  for (let run = -3; run < RUNS; run++) {
    // Interleaved, so that a slow moment of the machine falls on each alike.
    for (const [name, sql, params] of looks) {
      const started = process.hrtime.bigint();
      await pool.query(sql, params);
      if (run >= 0) timings.get(name)!.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
  }
  const stats = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return { median: sorted[Math.floor(sorted.length / 2)], p90: sorted[Math.floor(sorted.length * 0.9)] };
  };
  const before = stats(timings.get('before')!).median;
  console.log(`\none look of the expiry sweeper, ${RUNS} runs each, ${db.label}`);
  console.log('look          median ms   p90 ms   speed-up on before');
  for (const [name] of looks) {
    const { median, p90 } = stats(timings.get(name)!);
    console.log(`${name.padEnd(12)} ${median.toFixed(2).padStart(9)} ${p90.toFixed(2).padStart(8)}   ${(before / median).toFixed(1).padStart(6)}×`);
  }

  // Spends on the live grants, through the ledger: each rewrites `remaining`, never an indexed column.
  const counts = async () =>
    (await pool.query<{ upd: string; hot: string }>(`SELECT n_tup_upd AS upd, n_tup_hot_upd AS hot FROM pg_stat_user_tables WHERE relname = 'grants'`)).rows[0];
  const start = await counts();
  // Its own connections, closed before the counts are read again: a backend reports them as it exits.
  const spenders = new pg.Pool({ connectionString: db.url, max: 4 });
  const accountOf = (i: number) => `acct-${(i % ACCOUNTS) + 1}`;
  for (let i = 0; i < SPENDS; i += 16) {
    const requests: LedgerRequest[] = Array.from({ length: 16 }, (_, j) => ({
      command: { type: 'spend', accountId: accountOf(i + j), amount: 1 },
      idempotency: { key: randomUUID(), operation: 'spend', fingerprint: 'spend' },
    }));
    for (const outcome of await runLedgerBatch(new HeldConnections(spenders), requests, newId)) if (!outcome.ok) throw outcome.error;
  }
  await spenders.end();
  await new Promise((resolve) => setTimeout(resolve, 500));
  const end = await counts();
  const updates = Number(end.upd) - Number(start.upd);
  const hot = Number(end.hot) - Number(start.hot);
  console.log(`\nspends: ${SPENDS} through the ledger, ${updates} grant updates, ${hot} of them HOT (${((100 * hot) / Math.max(1, updates)).toFixed(1)}%)`);
  await pool.end();
} finally {
  await db.stop();
}
