import t from 'tap';
import { ADMIN_KEY, build } from '../helper.js';
import { runSoak } from '../../bench/soak/run-soak.js';

// A short, fixed-seed run of npm run soak (bench/soak/) against one Tally: spends, holds that expire,
// captures, releases, replays, grants that expire, packs paid, refunded, disputed, all at once on
// five accounts; then every acknowledged answer is checked against the ledger. At least 800 operations,
// however long a slow machine takes (a machine as fast as this one runs 1,100 in the 4 s). The long run, on two
// processes, is npm run soak (README, Tests).

t.test('a randomized mix of ledger requests and payments, at once on few accounts: the ledger agrees with every answer', async (t) => {
  const ctx = await build(t, { listen: true, env: { SWEEP_INTERVAL_MS: '300' } });
  const report = await runSoak(
    {
      urls: [ctx.url!],
      adminKey: ADMIN_KEY,
      databaseUrl: ctx.databaseUrl,
      sweepIntervalMs: 300,
      stripe: { simulator: ctx.simulator, client: ctx.stripe, webhookUrls: [`${ctx.url}/v1/webhooks/stripe`] },
    },
    { seed: 20261203, seconds: 4, minimumOperations: 800, accounts: 5, concurrency: 8, maxExpirySeconds: 3, log: (line) => t.comment(line) },
  );
  t.comment(JSON.stringify(report.counts));
  t.same(report.violations, [], 'no 5xx, no balance below zero, every replay its first answer, each hold settled once, the ledger summing to each balance');
  t.ok(report.counts.refund && report.counts.capture && report.counts.replay, `refunds, captures and replays among the ${report.operations} operations`);
});
