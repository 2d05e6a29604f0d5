import os from 'node:os';
import { join } from 'node:path';
import { interleave } from './interleave.js';
import { runLoad } from './load.js';
import { createLoadSide } from './load-side.js';
import { createPgbenchSide } from './pgbench-side.js';
import { createSliceMonitor } from './slice-monitor.js';
import type { BenchContext } from './scenarios/scenario.js';
import type { Settings } from './settings.js';
import { FUNDED_ACCOUNTS } from './targets.js';
import type { TallyClient } from './tally-client.js';
import type { TallyProcess } from './tally-process.js';
import { wrkLoad, wrkScript } from './wrk.js';

export interface BenchContextOptions {
  settings: Settings;
  runId: string;
  databaseUrl: string;
  postmasterPid?: number;
  tally: TallyProcess;
  client: TallyClient;
  serviceKey: string;
  webhookSecret: string;
  fundedAccounts: string[];
  pgbench: string;
  /** The wrk binary, for loads that use it (undefined: none of this run's scenarios does). */
  wrk?: string;
  baselineDir: string;
  log(line: string): void;
}

/** What every scenario gets: Tally, its database, and load and baseline sides to compare. */
export function createBenchContext(options: BenchContextOptions): BenchContext {
  const { settings, tally, log } = options;
  const database = { url: options.databaseUrl, postmasterPid: options.postmasterPid };
  return {
    runId: options.runId,
    seconds: settings.seconds,
    warmupSeconds: settings.warmupSeconds,
    databaseUrl: options.databaseUrl,
    tally,
    client: options.client,
    serviceKey: options.serviceKey,
    webhookSecret: options.webhookSecret,
    fundedAccounts: options.fundedAccounts,
    log,
    // Tally's pool leaves application_name empty; pgbench names itself.
    tallyLoad: (label, load) => createLoadSide(label, createSliceMonitor(tally.pid, database, ''), load.connections, (seconds) => runLoad({ ...load, url: tally.url, seconds })),
    tallyWrkLoad: (label, load) => {
      if (!options.wrk) throw new Error('tallyWrkLoad: the bench did not look for wrk (findWrk) before this run');
      const run = wrkLoad({ binary: options.wrk, url: tally.url, connections: load.connections, scriptPath: wrkScript(load.script), env: load.env, runPrefix: `${options.runId}-${load.script}` });
      return createLoadSide(label, createSliceMonitor(tally.pid, database, ''), load.connections, run);
    },
    pgbench: (script, clients) =>
      createPgbenchSide(`${script}.pgbench`, createSliceMonitor(tally.pid, database, 'pgbench'), {
        binary: options.pgbench,
        url: options.databaseUrl,
        scriptPath: join(options.baselineDir, `${script}.pgbench`),
        clients,
        variables: script === 'spend' ? { naccounts: FUNDED_ACCOUNTS } : {},
        // One transaction in ten: enough for a p99 over a run, and pgbench's own work barely changes.
        latencySample: 0.1,
      }),
    async compare(a, b) {
      const loadBefore = os.loadavg()[0];
      const results = await interleave(a, b, { seconds: settings.seconds, warmupSeconds: settings.warmupSeconds, rounds: settings.rounds, log });
      results.forEach((result, i) => log(`  ${[a, b][i].label}: ${describe(result)}`));
      log(`  load average ${loadBefore.toFixed(1)} → ${os.loadavg()[0].toFixed(1)}`);
      return results;
    },
  };
}

/** One log line per measured side: the figures and who used the CPU meanwhile. */
function describe(result: unknown): string {
  const r = result as Record<string, any>;
  const pg = r.pgActivity;
  const cpu =
    `; CPU % tally ${r.cpu.tally}, postgres ${r.cpu.postgres}, bench ${r.cpu.bench}` +
    `; its PG backends on average: ${pg.onCpu} on CPU, ${pg.wal} WAL, ${pg.lock} lock, ${pg.otherWait} other wait, ${pg.waitingForClientInTransaction} idle in transaction`;
  const requests = Object.values((r.statusCodes ?? {}) as Record<string, number>).reduce((a, b) => a + b, 0);
  const perCommit = requests && r.commits ? `; ${(requests / r.commits).toFixed(1)} requests per database commit` : '';
  if ('tps' in r) return `${Math.round(r.tps)} tps, mean latency ${r.meanLatencyMs.toFixed(2)} ms${r.p99LatencyMs === undefined ? '' : `, p99 ${r.p99LatencyMs.toFixed(2)} ms (${r.latencySamples} sampled)`}, ${r.failed} failed; slices ${r.slices.map((s: { tps: number }) => Math.round(s.tps)).join(' ')}${cpu}`;
  return (
    `${Math.round(r.requestsPerSecond)} req/s, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, statuses ${JSON.stringify(r.statusCodes)}, ` +
    `${r.errors} errors; slices ${r.sliceRequestsPerSecond.join(' ')}${perCommit}${cpu}`
  );
}
