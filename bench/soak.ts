// npm run soak: a seeded randomized soak of the ledger against two Tally processes on one database
// (bench/soak/run-soak.ts). SEED (default: random, printed) and DURATION (seconds, default 60);
// SOAK_ACCOUNTS (5), SOAK_STEADY (accounts on which nothing expires soon: half), SOAK_CONCURRENCY
// (requests in flight: 16), SOAK_PROCESSES (2) and SOAK_LEDGER_CONCURRENCY (each process's
// LEDGER_CONCURRENCY: 4,1). Exit 1 when any check failed.
import { randomBytes, randomInt } from 'node:crypto';
import { openBenchDatabase, type BenchDatabase } from './bench-database.js';
import { runSoak } from './soak/run-soak.js';
import { startTallyProcess, type TallyProcess } from './tally-process.js';
import { createStripeSimulator } from '../src/simulator/index.js';
import { createStripeClient } from '../src/stripe/client.js';

const log = (line: string) => process.stderr.write(`${line}\n`);
const number = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const SWEEP_INTERVAL_MS = 1000;

const seed = number('SEED', randomInt(2 ** 31));
const seconds = number('DURATION', 60);
let database: BenchDatabase | undefined;
const tallys: TallyProcess[] = [];
const webhookSecret = `whsec_${randomBytes(24).toString('hex')}`;
const simulator = createStripeSimulator({ webhookSecret, retrySchedule: [200, 500, 1000, 2000, 5000] });

async function main(): Promise<number> {
  log(`soak: SEED=${seed} DURATION=${seconds}`);
  database = await openBenchDatabase(process.env.DATABASE_URL, log);
  const stripeUrl = await simulator.listen(0, '127.0.0.1');
  const adminKey = `soak_admin_${randomBytes(18).toString('hex')}`;
  // By default the first process runs four ledger transactions at once (batches of one process race
  // too, on the states it keeps), the second one, as by default.
  const concurrencies = (process.env.SOAK_LEDGER_CONCURRENCY ?? '4,1').split(',');
  for (const concurrency of concurrencies.slice(0, number('SOAK_PROCESSES', 2))) {
    tallys.push(
      await startTallyProcess({
        databaseUrl: database.url,
        adminKey,
        nodeArgs: [],
        env: {
          STRIPE_SECRET_KEY: 'sk_test_soak', STRIPE_API_URL: stripeUrl, STRIPE_WEBHOOK_SECRET: webhookSecret,
          LEDGER_CONCURRENCY: concurrency, SWEEP_INTERVAL_MS: String(SWEEP_INTERVAL_MS), WEBHOOK_RETRY_INTERVAL_MS: '500',
        },
      }),
    );
  }
  const urls = tallys.map((t) => t.url);
  const report = await runSoak(
    {
      urls,
      adminKey,
      databaseUrl: database.url,
      sweepIntervalMs: SWEEP_INTERVAL_MS,
      stripe: { simulator, client: createStripeClient({ secretKey: 'sk_test_soak', apiUrl: stripeUrl, timeoutMs: 10_000, maxRetries: 0 }), webhookUrls: urls.map((url) => `${url}/v1/webhooks/stripe`) },
    },
    { seed, seconds, accounts: number('SOAK_ACCOUNTS', 5), steadyAccounts: process.env.SOAK_STEADY ? Number(process.env.SOAK_STEADY) : undefined, concurrency: number('SOAK_CONCURRENCY', 16), maxExpirySeconds: 6, log },
  );
  const errorLines = tallys.flatMap((t) => t.errorLines());
  for (const url of urls) {
    const metrics = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${adminKey}` } }).then((r) => r.text());
    log(`${url}: ${metrics.split('\n').filter((line) => /^tally_ledger_(cache|batches|failed)/.test(line)).join('; ')}`);
  }
  process.stdout.write(`\nsoak SEED=${seed} DURATION=${seconds}: ${report.operations} operations\n${JSON.stringify(report.counts)}\n${JSON.stringify(report.statuses)}\n`);
  if (errorLines.length) process.stdout.write(`\nTally logged ${errorLines.length} error line(s); the first:\n${errorLines.slice(0, 3).join('\n')}\n`);
  process.stdout.write(report.violations.length ? `\n${report.violations.length} violation(s):\n${report.violations.join('\n')}\n` : '\nno violations\n');
  return report.violations.length || errorLines.length ? 1 : 0;
}

async function cleanUp() {
  for (const tally of tallys) await tally.stop().catch(() => {});
  await simulator.close().catch(() => {});
  await database?.stop().catch(() => {});
}

let code = 1;
try {
  code = await main();
} catch (error) {
  log(`the soak failed: ${error instanceof Error ? error.stack : error}`);
  for (const tally of tallys) log(`Tally's last output:\n${tally.outputTail().slice(-2000)}`);
} finally {
  await cleanUp();
}
process.exit(code);
