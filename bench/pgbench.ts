import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import pg from 'pg';
import { runBounded } from './run-bounded.js';

export interface PgbenchResult {
  script: string;
  clients: number;
  seconds: number;
  tps: number;
  /** pgbench's "latency average", in ms. */
  meanLatencyMs: number;
  transactions: number;
  failed: number;
  command: string;
  /** Latencies of a random sample of the transactions, in ms (`PgbenchRun.latencySample`). */
  sampledLatenciesMs?: number[];
}

export class PgbenchMissing extends Error {}

/**
 * pgbench from BENCH_PGBENCH, PATH or /usr/lib/postgresql/<version>/bin. On Debian and Ubuntu it
 * ships with the server package (postgresql-<version>, which postgresql-contrib pulls in), not with
 * postgresql-client.
 */
export function findPgbench(override?: string): { path: string; version: string } {
  const candidates = [
    ...(override ? [override] : []),
    ...(process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'pgbench')),
    ...debianBinaries(),
  ];
  for (const path of candidates) {
    if (!isExecutable(path)) continue;
    try {
      const version = execFileSync(path, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
      return { path, version };
    } catch {
      // Debian's /usr/bin/pgbench is a wrapper that fails when no server package is installed.
    }
  }
  throw new PgbenchMissing(
    [
      'pgbench was not found (looked at BENCH_PGBENCH, PATH and /usr/lib/postgresql/*/bin).',
      'The baselines need it. On Debian/Ubuntu it ships with the server package, not postgresql-client:',
      '  apt-get install postgresql-contrib   (pulls in postgresql-<version>, which has /usr/lib/postgresql/<version>/bin/pgbench)',
      'or point BENCH_PGBENCH at a pgbench binary.',
    ].join('\n'),
  );
}

function debianBinaries(): string[] {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => join(root, v, 'bin', 'pgbench'));
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Loads baseline-schema.sql through the pg client (no psql), with :naccounts replaced. */
export async function loadBaselineSchema(url: string, schemaPath: string, accounts: number): Promise<void> {
  const sql = readFileSync(schemaPath, 'utf8').replaceAll(':naccounts', String(accounts));
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
    await client.query('ANALYZE baseline_accounts');
  } finally {
    await client.end();
  }
}

export interface PgbenchRun {
  binary: string;
  url: string;
  scriptPath: string;
  clients: number;
  seconds: number;
  variables?: Record<string, string | number>;
  /**
   * The share of transactions whose latency pgbench logs (`--log --sampling-rate`): its summary gives
   * only the mean. A sample keeps the log small and pgbench's own work as it was.
   */
  latencySample?: number;
}

/** `pgbench -n -c <clients> -j 2 -T <seconds> [-D k=v] [--log ...] -f <script> <url>`, bounded in time. */
export async function runPgbench(run: PgbenchRun): Promise<PgbenchResult> {
  const seconds = Math.max(1, Math.round(run.seconds));
  const defines = Object.entries(run.variables ?? {}).flatMap(([k, v]) => ['-D', `${k}=${v}`]);
  const logDir = run.latencySample ? mkdtempSync(join(tmpdir(), 'tally-pgbench-log-')) : undefined;
  const logging = logDir ? ['--log', `--sampling-rate=${run.latencySample}`, `--log-prefix=${join(logDir, 'tx')}`] : [];
  const args = ['-n', '-c', String(run.clients), '-j', '2', '-T', String(seconds), ...defines, ...logging, '-f', run.scriptPath, run.url];
  // As results.json records it: the log's folder is temporary, so it is named <dir>.
  const shown = (arg: string) => (logDir ? arg.replace(logDir, '<dir>') : arg);
  const command = ['pgbench', ...args.slice(0, -1).map(shown), '<url>'].join(' ');
  let output: string;
  let sampledLatenciesMs: number[] | undefined;
  try {
    output = await runBounded(run.binary, args, seconds, command);
    if (logDir) sampledLatenciesMs = readTransactionLatencies(logDir);
  } finally {
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  }
  const number = (pattern: RegExp) => {
    const found = pattern.exec(output);
    if (!found) throw new Error(`Could not read ${pattern} from the output of ${command}:\n${output}`);
    return Number(found[1]);
  };
  return {
    script: run.scriptPath.split('/').pop()!,
    clients: run.clients,
    seconds,
    tps: number(/^tps = ([\d.]+)/m),
    meanLatencyMs: number(/^latency average = ([\d.]+) ms/m),
    transactions: number(/^number of transactions actually processed: (\d+)/m),
    failed: /^number of failed transactions: (\d+)/m.test(output) ? number(/^number of failed transactions: (\d+)/m) : 0,
    command,
    ...(sampledLatenciesMs ? { sampledLatenciesMs } : {}),
  };
}

/**
 * The latencies in pgbench's per-transaction logs (one file per thread), in ms. A line is
 * `client_id transaction_no time script_no time_epoch time_us`, `time` the transaction's latency in
 * µs; a failed transaction has a word there instead, and is left out.
 */
function readTransactionLatencies(logDir: string): number[] {
  const latencies: number[] = [];
  for (const file of readdirSync(logDir)) {
    for (const line of readFileSync(join(logDir, file), 'utf8').split('\n')) {
      const micros = Number(line.split(' ')[2]);
      if (line && Number.isFinite(micros)) latencies.push(micros / 1000);
    }
  }
  return latencies;
}
