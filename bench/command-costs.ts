// npm run bench:costs — what one ledger command costs, by kind, without HTTP: batches of 16 spends,
// holds or captures run through runLedgerBatch on one connection to an embedded PostgreSQL, serially.
// Prints, per command: Node's CPU, the PostgreSQL backend's CPU (from /proc) and the WAL bytes it
// wrote. Only the ratios between kinds mean anything on a noisy machine.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { HeldConnections } from '../src/db/held-connections.js';
import { runLedgerBatch, type LedgerRequest } from '../src/domain/ledger/run-ledger-batch.js';
import { newId } from '../src/lib/ids.js';
import { openBenchDatabase } from './bench-database.js';
import { statFields } from './process-stats.js';
import { seedFundedAccounts } from './seed.js';

const BATCH = Number(process.env.COSTS_BATCH ?? 16);
const BATCHES = Number(process.env.COSTS_BATCHES ?? 400);
const ROUNDS = 3;

const db = await openBenchDatabase(undefined, console.log);
try {
  const accounts = await seedFundedAccounts(db.url, 'cost-', 10_000, 1_000_000_000);
  const pool = new pg.Pool({ connectionString: db.url, max: 1 });
  const side = new pg.Client({ connectionString: db.url });
  await side.connect();
  const backendPid = await (async () => {
    const client = await pool.connect();
    try {
      return (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    } finally {
      client.release();
    }
  })();

  const backendCpuMicros = () => {
    const { utime, stime } = statFields(backendPid);
    return (utime + stime) * 10_000;
  };
  const wal = async () => (await side.query<{ lsn: string }>('SELECT pg_current_wal_lsn() AS lsn')).rows[0];
  const walBytes = async (from: string, to: string) => Number((await side.query<{ d: string }>('SELECT pg_wal_lsn_diff($1, $2) AS d', [to, from])).rows[0].d);
  const account = () => accounts[Math.floor(Math.random() * accounts.length)];
  const key = (operation: string) => ({ key: randomUUID(), operation, fingerprint: operation });

  const open: string[] = [];
  const kinds: Record<string, () => LedgerRequest[]> = {
    spend: () => Array.from({ length: BATCH }, () => ({ command: { type: 'spend', accountId: account(), amount: 1 }, idempotency: key('spend') })),
    hold: () => Array.from({ length: BATCH }, () => ({ command: { type: 'hold', accountId: account(), amount: 2, expiresInSeconds: 600 }, idempotency: key('hold') })),
    capture: () => open.splice(0, BATCH).map((holdId) => ({ command: { type: 'capture', holdId, amount: 1 }, idempotency: key('capture') })),
  };

  console.log(`per command, batches of ${BATCH}, ${BATCHES} batches of each kind per round`);
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [kind, make] of Object.entries(kinds)) {
      const node0 = process.cpuUsage();
      const pg0 = backendCpuMicros();
      const wal0 = await wal();
      for (let i = 0; i < BATCHES; i++) {
        const requests = make();
        const outcomes = await runLedgerBatch(new HeldConnections(pool), requests, newId);
        for (const outcome of outcomes) {
          if (!outcome.ok) throw outcome.error;
          if (kind === 'hold' && 'hold' in outcome.value) open.push(outcome.value.hold.id);
        }
      }
      const nodeCpu = process.cpuUsage(node0);
      const pgCpu = backendCpuMicros() - pg0;
      const wal1 = await wal();
      const n = BATCHES * BATCH;
      const bytes = await walBytes(wal0.lsn, wal1.lsn);
      console.log(
        `round ${round} ${kind.padEnd(8)} Node ${((nodeCpu.user + nodeCpu.system) / n).toFixed(0).padStart(4)} µs  ` +
          `PostgreSQL ${(pgCpu / n).toFixed(0).padStart(4)} µs  WAL ${(bytes / n).toFixed(0).padStart(5)} B`,
      );
    }
  }
  await side.end();
  await pool.end();
} finally {
  await db.stop();
}
