import t from 'tap';
import { lapseOverlapMs, LAPSE_OVERLAP_MS } from '../../src/domain/ledger/expiry-sweeper.js';
import { DEFAULT_DATABASE_TIMEOUT_MS } from '../../src/db/client.js';

// The sweeper's later passes look back only so far (expiry-sweeper.ts): that must outlast any ledger
// transaction still open when a pass looked. One lasts at most its two trips, each the timeout and
// 2 s more (README, DATABASE_TIMEOUT_MS), and an idle half of the timeout between them, after which
// PostgreSQL ends it (idle_in_transaction_session_timeout).
const longestTransactionMs = (timeoutMs: number) => 2 * (timeoutMs + 2_000) + timeoutMs / 2;

t.test("the sweeper's look-back outlasts the longest ledger transaction the database timeout allows", async (t) => {
  t.equal(lapseOverlapMs(DEFAULT_DATABASE_TIMEOUT_MS), LAPSE_OVERLAP_MS, 'ten minutes with the default timeout');
  for (const timeoutMs of [1_000, DEFAULT_DATABASE_TIMEOUT_MS, 120_000, 300_000, 600_000]) {
    t.ok(lapseOverlapMs(timeoutMs) > longestTransactionMs(timeoutMs), `DATABASE_TIMEOUT_MS=${timeoutMs}: ${lapseOverlapMs(timeoutMs)} ms > ${longestTransactionMs(timeoutMs)} ms`);
  }
});
