import { spawnSync } from 'node:child_process';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadRun, LoadRunner } from './load.js';
import { runBounded } from './run-bounded.js';

export class WrkMissing extends Error {}

/** A Lua script of bench/wrk/. */
export const wrkScript = (name: string) => fileURLToPath(new URL(`wrk/${name}`, import.meta.url));

/** The line a bench script's done() prints, before the JSON of what it measured. */
const RESULT_MARK = 'TALLY_WRK_RESULT ';

/**
 * wrk from BENCH_WRK or PATH (Debian: `apt-get install wrk`). A load generator in C, as light on the
 * shared CPUs as pgbench, the client of the baselines it is compared with.
 */
export function findWrk(override?: string): { path: string; version: string } {
  const candidates = [...(override ? [override] : []), ...(process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'wrk'))];
  for (const path of candidates) {
    // `wrk --version` prints its version and usage, and exits with 1.
    const probe = spawnSync(path, ['--version'], { encoding: 'utf8' });
    const version = /^wrk \S+/.exec(probe.stdout ?? '')?.[0];
    if (version) return { path, version };
  }
  throw new WrkMissing(
    ['wrk was not found (looked at BENCH_WRK and PATH). The spend scenario loads Tally with it:', '  apt-get install wrk', 'or point BENCH_WRK at a wrk binary.'].join('\n'),
  );
}

export interface WrkRun {
  binary: string;
  url: string;
  connections: number;
  seconds: number;
  /** A Lua script (wrkScript), whose done() prints the result line (see spend.lua). */
  scriptPath: string;
  /** What the script reads with os.getenv. */
  env: Record<string, string>;
}

/**
 * One wrk run on 2 threads, as pgbench runs its clients (-j 2): completed responses by class of
 * status, socket errors and timeouts, and the latency of every response (in whole microseconds).
 */
export async function runWrk(run: WrkRun): Promise<LoadRun> {
  const seconds = Math.max(1, Math.round(run.seconds));
  const args = ['-t', '2', '-c', String(run.connections), '-d', `${seconds}s`, '--timeout', '10s', '-s', run.scriptPath, run.url];
  const command = ['wrk', ...args].join(' ');
  const output = await runBounded(run.binary, args, seconds, command, run.env);
  const line = output.split('\n').find((l) => l.startsWith(RESULT_MARK));
  if (!line) throw new Error(`${command} printed no result line (${RESULT_MARK.trim()}):\n${output}`);
  const result = JSON.parse(line.slice(RESULT_MARK.length)) as {
    requests: number;
    durationUs: number;
    errors: { connect: number; read: number; write: number; status: number; timeout: number };
    /** [microseconds, responses] for every latency seen. */
    latency: Array<[number, number]>;
  };
  const latenciesMs: number[] = [];
  for (const [us, count] of result.latency) for (let i = 0; i < count; i++) latenciesMs.push(us / 1000);
  const { connect, read, write, status, timeout } = result.errors;
  return {
    durationSeconds: result.durationUs / 1e6,
    // wrk tells responses of status 400 and above from the rest, not each status.
    statusCodes: { '2xx': result.requests - status, ...(status ? { '4xx/5xx': status } : {}) },
    errors: connect + read + write + timeout,
    timeouts: timeout,
    latenciesMs,
  };
}

/**
 * A script's load on one Tally, run after run: WRK_RUN, which the script puts in every Idempotency-Key,
 * is `<runPrefix>-<n>`, new for each run (warm-ups and slices alike).
 */
export function wrkLoad(options: Omit<WrkRun, 'seconds'> & { runPrefix: string }): LoadRunner {
  let runs = 0;
  const { runPrefix, ...run } = options;
  return (seconds) => runWrk({ ...run, seconds, env: { ...run.env, WRK_RUN: `${runPrefix}-${runs++}` } });
}
