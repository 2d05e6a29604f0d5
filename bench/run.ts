import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { createBenchContext } from './bench-context.js';
import { openBenchDatabase, type BenchDatabase } from './bench-database.js';
import { findPgbench, loadBaselineSchema, PgbenchMissing } from './pgbench.js';
import { findWrk, WrkMissing } from './wrk.js';
import { formatTable, writeResults } from './report.js';
import { allScenarios } from './scenarios/all-scenarios.js';
import type { Row, ScenarioOutcome } from './scenarios/scenario.js';
import { seedFundedAccounts } from './seed.js';
import { readSourceState } from './source-state.js';
import { readSettings, RUNTIME_ENV, SettingsError, type Settings } from './settings.js';
import { connections, FUNDED_ACCOUNTS, FUNDED_CREDITS, targets } from './targets.js';
import { spendOnEachAccount } from './scenarios/spend-load.js';
import { TallyClient } from './tally-client.js';
import { startTallyProcess, type TallyProcess } from './tally-process.js';
import { createStripeSimulator, type StripeSimulator } from '../src/simulator/index.js';

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
const RESULTS_PATH = join(BENCH_DIR, 'results.json');
const log = (line: string) => process.stderr.write(`${line}\n`);

let database: BenchDatabase | undefined;
let tally: TallyProcess | undefined;
let stripe: StripeSimulator | undefined;
let tallyExitCode: number | null | undefined;
let cleaning: Promise<void> | undefined;

/** Stops Tally, then the embedded PostgreSQL; safe to call more than once, on success or failure. */
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    if (tally) tallyExitCode = await tally.stop().catch(() => null);
    await stripe?.close().catch(() => {});
    await database?.stop().catch((error) => log(`could not stop PostgreSQL: ${error}`));
  })();
  return cleaning;
}

async function main(settings: Settings): Promise<number> {
  const pgbench = findPgbench(settings.pgbench);
  // Only the spend scenario loads Tally with wrk (the others with autocannon, in this process).
  const wrk = settings.scenarios.includes('spend') ? findWrk(settings.wrk) : undefined;
  const baselineDir = settings.baselineDir ?? join(BENCH_DIR, 'baselines');
  const runId = Date.now().toString(36);
  const loadAverageAtStart = os.loadavg();
  const source = readSourceState();
  const adminKey = `bench_admin_${randomBytes(18).toString('hex')}`;
  const webhookSecret = `whsec_${randomBytes(24).toString('hex')}`;
  log(`bench ${runId}: ${settings.scenarios.join(', ')}; ${settings.seconds} s each after ${settings.warmupSeconds} s of warm-up; ${pgbench.version}${wrk ? `; ${wrk.version}` : ''}`);
  log(`source: ${source.commit?.slice(0, 7) ?? 'unknown commit'}${source.changedFiles?.length ? ` + ${source.changedFiles.length} changed file(s) in src/ and prisma/` : ''}`);

  database = await openBenchDatabase(settings.databaseUrl, log);
  log(`database: ${database.label}; seeding ${FUNDED_ACCOUNTS} funded accounts and the baseline tables`);
  const fundedAccounts = await seedFundedAccounts(database.url, `bench-${runId}-`, FUNDED_ACCOUNTS, FUNDED_CREDITS);
  await loadBaselineSchema(database.url, join(baselineDir, 'baseline-schema.sql'), FUNDED_ACCOUNTS);

  // Tally runs as in production, with a Stripe key, against a Stripe simulator in this process:
  // its memory and CPU are then Tally's own, not the built-in simulator's.
  stripe = createStripeSimulator({ webhookSecret });
  const stripeUrl = await stripe.listen(0, '127.0.0.1');
  tally = await startTallyProcess({
    databaseUrl: database.url,
    adminKey,
    nodeArgs: settings.tallyNodeArgs,
    env: { ...RUNTIME_ENV, STRIPE_SECRET_KEY: 'sk_test_bench', STRIPE_API_URL: stripeUrl, STRIPE_WEBHOOK_SECRET: webhookSecret },
  });
  const atStart = tally.stats();
  log(`Tally: pid ${tally.pid} at ${tally.url}, ${atStart?.rssMb.toFixed(0)} MB resident`);
  const client = new TallyClient(tally.url, adminKey);
  const serviceKey = (await client.expect(201, 'POST', '/v1/api-keys', { name: `bench ${runId}`, role: 'service' })).body.secret as string;
  const context = createBenchContext({ settings, runId, databaseUrl: database.url, postmasterPid: database.postmasterPid, tally, client, serviceKey, webhookSecret, fundedAccounts, pgbench: pgbench.path, wrk: wrk?.path, baselineDir, log });

  const warmed = await spendOnEachAccount(context);
  log(`warmed Tally up: one spend on each of the ${fundedAccounts.length} funded accounts, answered ${JSON.stringify(warmed)}`);

  const outcomes: Record<string, ScenarioOutcome & { error?: string }> = {};
  const rows: Row[] = [];
  for (const name of settings.scenarios) {
    log(`\n${name}`);
    try {
      const outcome = await allScenarios[name].run(context);
      outcomes[name] = outcome;
      rows.push(...outcome.rows);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      log(`  ${name} failed: ${error instanceof Error ? error.stack : message}`);
      outcomes[name] = { rows: [], raw: {}, error: message };
      rows.push({ scenario: name, tally: `error: ${message.split('\n')[0].slice(0, 80)}`, baseline: '—', target: '—', pass: false });
    }
    const stats = tally.stats();
    if (stats) log(`  Tally's memory after ${name}: ${stats.rssMb.toFixed(0)} MB resident, peak so far ${stats.peakRssMb.toFixed(0)} MB`);
  }

  const end = tally.stats();
  const peakRssMb = Math.max(end?.peakRssMb ?? 0, tally.sampledPeakRssMb());
  rows.push({
    scenario: 'peak RSS of Tally',
    tally: end ? `${peakRssMb.toFixed(0)} MB (VmHWM)` : 'n/a (no /proc)',
    baseline: atStart ? `${atStart.rssMb.toFixed(0)} MB at start` : '—',
    target: `≤ ${targets.peakRssMb} MB`,
    pass: end ? peakRssMb <= targets.peakRssMb : undefined,
  });
  const errorLines = tally.errorLines();
  await cleanUp();

  const cpus = os.cpus();
  const header = `Tally bench ${new Date().toISOString()} — ${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, node ${process.version}, ${database.label}, ${settings.seconds} s per run`;
  process.stdout.write(`\n${header}\n${formatTable(rows)}\n`);
  if (errorLines.length) process.stdout.write(`\nTally logged ${errorLines.length} error line(s); the first:\n${errorLines.slice(0, 3).join('\n')}\n`);
  if (tallyExitCode !== 0) process.stdout.write(`\nTally exited with code ${tallyExitCode} when stopped.\n`);

  writeResults(RESULTS_PATH, {
    date: new Date().toISOString(),
    machine: { cpuModel: cpus[0]?.model, cpuCount: cpus.length, totalMemoryMb: Math.round(os.totalmem() / 2 ** 20), platform: `${os.platform()} ${os.release()}`, loadAverageAtStart, loadAverageAtEnd: os.loadavg() },
    node: process.version,
    source,
    database: { label: database.label, serverVersion: database.serverVersion, embedded: !settings.databaseUrl },
    pgbench: pgbench.version,
    wrk: wrk?.version,
    settings: { ...settings, databaseUrl: settings.databaseUrl ? '(set)' : undefined, fundedAccounts: FUNDED_ACCOUNTS, fundedCredits: FUNDED_CREDITS, connections },
    targets,
    scenarios: outcomes,
    tally: { memoryMb: { atStart: atStart?.rssMb, peakVmHWM: end?.peakRssMb, peakSampled: tally.sampledPeakRssMb() }, errorLogLines: errorLines.slice(0, 50), exitCode: tallyExitCode },
    rows,
    allTargetsMet: rows.every((row) => row.pass !== false),
  });
  log(`\nwrote ${RESULTS_PATH}`);
  return 0;
}

async function runBounded(): Promise<number> {
  let settings: Settings;
  try {
    settings = readSettings();
  } catch (error) {
    if (error instanceof SettingsError) {
      log(error.message);
      return 78;
    }
    throw error;
  }
  // Bounded in time whatever happens: set-up, every run with its warm-up and baseline, and slack.
  const budgetSeconds = 300 + settings.scenarios.length * (4 * (settings.seconds + settings.warmupSeconds) + 240);
  const deadline = setTimeout(() => {
    log(`the bench ran past its ${budgetSeconds} s budget: stopping`);
    void cleanUp().finally(() => process.exit(2));
  }, budgetSeconds * 1000);
  deadline.unref();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping Tally and PostgreSQL`);
      void cleanUp().finally(() => process.exit(130));
    });
  }
  // A throw in a load callback must not leave Tally or PostgreSQL running.
  for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
    process.once(event, (error: unknown) => {
      log(`the bench failed (${event}): ${error instanceof Error ? error.stack : error}`);
      void cleanUp().finally(() => process.exit(1));
    });
  }
  try {
    return await main(settings);
  } catch (error) {
    if (error instanceof PgbenchMissing || error instanceof WrkMissing) log(error.message);
    else log(`the bench failed: ${error instanceof Error ? error.stack : error}`);
    if (tally) log(`Tally's last output:\n${tally.outputTail().slice(-4000)}`);
    return 1;
  } finally {
    await cleanUp();
    clearTimeout(deadline);
  }
}

process.exit(await runBounded());
