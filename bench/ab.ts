// npm run bench:ab — two Tally processes side by side on one database, A and B, loaded in
// alternating slices (as the bench does Tally and its baselines), so that a change is measured
// against what it changes on the same noisy machine in the same minutes. Each side is
//   label|ENV=value ENV2=value|--node-flag ...|git revision
// (all but the label optional; no revision = this working tree). A revision is exported with
// `git archive` into a temporary folder beside this checkout's node_modules, and built there.
//   BENCH_AB_A="head|||HEAD" BENCH_AB_B="work" npm run bench:ab
//   BENCH_AB_A="one|LEDGER_CONCURRENCY=1" BENCH_AB_B="two|LEDGER_CONCURRENCY=2" BENCH_AB_LOAD=holds npm run bench:ab
// BENCH_AB_LOAD: spend (from wrk, as in the bench; the default), spend-autocannon, holds or balance.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openBenchDatabase } from './bench-database.js';
import { interleave } from './interleave.js';
import { runLoad, type LoadRunner } from './load.js';
import { createLoadSide } from './load-side.js';
import { balanceLoad } from './scenarios/balance-read.js';
import { holdsLoad } from './scenarios/holds-load.js';
import type { MeasuredLoad } from './scenarios/scenario.js';
import { spendLoad, spendWrkEnv, writeAccountsFile } from './scenarios/spend-load.js';
import { seedFundedAccounts } from './seed.js';
import { RUNTIME_ENV, RUNTIME_NODE_FLAGS } from './settings.js';
import { createSliceMonitor } from './slice-monitor.js';
import { connections, FUNDED_ACCOUNTS, FUNDED_CREDITS } from './targets.js';
import { TallyClient } from './tally-client.js';
import { startTallyProcess, type TallyProcess } from './tally-process.js';
import { findWrk, wrkLoad, wrkScript } from './wrk.js';

const CHECKOUT = fileURLToPath(new URL('..', import.meta.url));
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Variant {
  label: string;
  env: Record<string, string>;
  nodeArgs: string[];
  revision?: string;
}

function parseVariant(name: string, spec: string | undefined): Variant {
  if (!spec) throw new Error(`${name} is not set: label|ENV=value ...|--node-flag ...|git revision`);
  const [label, env = '', args = '', revision = ''] = spec.split('|');
  return {
    label,
    env: Object.fromEntries(env.split(/\s+/).filter(Boolean).map((pair) => pair.split('=', 2) as [string, string])),
    nodeArgs: args.split(/\s+/).filter(Boolean),
    revision: revision || undefined,
  };
}

/** A revision's tree in a temporary folder, sharing this checkout's node_modules and generated client. */
function exportRevision(revision: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tally-ab-'));
  execFileSync('sh', ['-c', `git archive "$1" | tar -x -C "$2"`, 'sh', revision, dir], { cwd: CHECKOUT, stdio: 'inherit' });
  symlinkSync(join(CHECKOUT, 'node_modules'), join(dir, 'node_modules'));
  cpSync(join(CHECKOUT, 'src/generated'), join(dir, 'src/generated'), { recursive: true });
  return dir;
}

function describe(variant: Variant, result: MeasuredLoad, tally: TallyProcess): string {
  const requests = Object.values(result.statusCodes).reduce((a, b) => a + b, 0);
  const perRequest = (cpuShare: number) => ((cpuShare * 10_000) / result.requestsPerSecond).toFixed(0);
  return (
    `${variant.label}: ${Math.round(result.requestsPerSecond)} req/s, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, ` +
    `statuses ${JSON.stringify(result.statusCodes)}, ${(requests / result.commits).toFixed(1)} requests per commit; ` +
    `CPU µs per request: Tally ${perRequest(result.cpu.tally)}, PostgreSQL ${perRequest(result.cpu.postgres)}; ` +
    `peak RSS ${tally.stats()?.peakRssMb.toFixed(0)} MB; slices ${result.sliceRequestsPerSecond.join(' ')}`
  );
}

const a = parseVariant('BENCH_AB_A', process.env.BENCH_AB_A);
const b = parseVariant('BENCH_AB_B', process.env.BENCH_AB_B);
const loadName = process.env.BENCH_AB_LOAD ?? 'spend';
// spend comes from wrk, as in the bench; the others, and spend-autocannon, from autocannon in this process.
const LOADS = { 'spend-autocannon': spendLoad, holds: holdsLoad, balance: balanceLoad };
if (loadName !== 'spend' && !(loadName in LOADS)) throw new Error(`BENCH_AB_LOAD: spend, ${Object.keys(LOADS).join(', ')} (got ${loadName})`);
const wrk = loadName === 'spend' ? findWrk(process.env.BENCH_WRK) : undefined;
const seconds = Number(process.env.BENCH_SECONDS ?? 20);
const rounds = Number(process.env.BENCH_ROUNDS ?? 10);

const exported: string[] = [];
const cleanUps: Array<() => void> = [];
const database = await openBenchDatabase(process.env.DATABASE_URL, log);
const processes: TallyProcess[] = [];
try {
  // Each side spends on accounts of its own, as the bench's one Tally does: on shared accounts, each
  // process would keep finding the accounts changed by the other (account-cache.ts).
  const seededAt = Date.now().toString(36);
  const fundedAccounts = [
    await seedFundedAccounts(database.url, `ab-${seededAt}-a-`, FUNDED_ACCOUNTS, FUNDED_CREDITS),
    await seedFundedAccounts(database.url, `ab-${seededAt}-b-`, FUNDED_ACCOUNTS, FUNDED_CREDITS),
  ];
  const adminKey = `bench_admin_${randomBytes(18).toString('hex')}`;
  for (const variant of [a, b]) {
    const root = variant.revision ? exportRevision(variant.revision) : undefined;
    if (root) exported.push(root);
    processes.push(
      await startTallyProcess({
        databaseUrl: database.url,
        adminKey,
        root,
        nodeArgs: [...RUNTIME_NODE_FLAGS, ...variant.nodeArgs],
        // A Stripe key (as in production) pointing nowhere: these loads never call Stripe.
        env: { ...RUNTIME_ENV, STRIPE_SECRET_KEY: 'sk_test_ab', STRIPE_API_URL: 'http://127.0.0.1:9', STRIPE_WEBHOOK_SECRET: 'whsec_ab', ...variant.env },
      }),
    );
  }
  const client = new TallyClient(processes[0].url, adminKey);
  const serviceKey = (await client.expect(201, 'POST', '/v1/api-keys', { name: 'bench ab', role: 'service' })).body.secret as string;
  const accountsFiles = wrk && fundedAccounts.map((accounts) => writeAccountsFile(accounts));
  if (accountsFiles) cleanUps.push(...accountsFiles.map((file) => file.remove));
  const runId = `ab-${Date.now().toString(36)}`;
  /** The connections and the load runner on one Tally process. */
  const loadOn = (tally: TallyProcess, side: number): [number, LoadRunner] => {
    if (wrk && accountsFiles) {
      const env = spendWrkEnv(accountsFiles[side].path, serviceKey);
      return [connections.spend, wrkLoad({ binary: wrk.path, url: tally.url, connections: connections.spend, scriptPath: wrkScript('spend.lua'), env, runPrefix: `${runId}-${side}` })];
    }
    const load = LOADS[loadName as keyof typeof LOADS]({ fundedAccounts: fundedAccounts[side], serviceKey });
    return [load.connections, (seconds) => runLoad({ ...load, url: tally.url, seconds })];
  };
  const databaseSide = { url: database.url, postmasterPid: database.postmasterPid };
  const [sideA, sideB] = processes.map((tally, i) => createLoadSide([a, b][i].label, createSliceMonitor(tally.pid, databaseSide, ''), ...loadOn(tally, i)));
  log(`${loadName}: ${a.label} against ${b.label}, ${seconds} s each, ${database.label}`);
  const [resultA, resultB] = await interleave(sideA, sideB, { seconds, warmupSeconds: Number(process.env.BENCH_WARMUP_SECONDS ?? 3), rounds, log });
  log(describe(a, resultA, processes[0]));
  log(describe(b, resultB, processes[1]));
  log(`${b.label} / ${a.label}: ${(resultB.requestsPerSecond / resultA.requestsPerSecond).toFixed(3)} × req/s, ${(resultB.latencyMs.p99 / resultA.latencyMs.p99).toFixed(3)} × p99`);
} finally {
  for (const cleanUp of cleanUps) cleanUp();
  for (const tally of processes) await tally.stop().catch(() => null);
  await database.stop();
  for (const dir of exported) rmSync(dir, { recursive: true, force: true });
}
