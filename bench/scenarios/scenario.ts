import type { Side } from '../interleave.js';
import type { LoadOptions, LoadResult } from '../load.js';
import type { LoadSide } from '../load-side.js';
import type { PgbenchResult } from '../pgbench.js';
import type { ScenarioName } from '../settings.js';
import type { Observed } from '../slice-monitor.js';
import type { TallyClient } from '../tally-client.js';
import type { TallyProcess } from '../tally-process.js';

/** One line of the printed table. */
export interface Row {
  scenario: string;
  tally: string;
  baseline: string;
  /** Tally's figure over the baseline's; undefined when there is nothing to divide by. */
  ratio?: number;
  target: string;
  /** undefined: informational, or skipped. */
  pass?: boolean;
}

export interface ScenarioOutcome {
  rows: Row[];
  /** Every raw figure, for results.json. */
  raw: Record<string, unknown>;
  /** Why the scenario did not run. */
  skipped?: string;
}

/** Tally under load, over every measured slice; CPU shares of Tally, PostgreSQL and the load generator. */
export type MeasuredLoad = LoadResult & Observed & { sliceRequestsPerSecond: number[] };
export type MeasuredBaseline = Omit<PgbenchResult, 'sampledLatenciesMs'> &
  Observed & {
    slices: Array<{ seconds: number; tps: number; meanLatencyMs: number }>;
    /** pgbench's own p99, over the transactions whose latency it logged (`latencySamples` of them). */
    p99LatencyMs?: number;
    latencySamples?: number;
  };

export interface BenchContext {
  runId: string;
  seconds: number;
  warmupSeconds: number;
  databaseUrl: string;
  tally: TallyProcess;
  /** A client with the admin key. */
  client: TallyClient;
  /** A service key, as a product's backend would call Tally with. */
  serviceKey: string;
  /** The secret Tally verifies webhook signatures with (STRIPE_WEBHOOK_SECRET). */
  webhookSecret: string;
  /** Funded accounts for the spend, balance and hold scenarios. */
  fundedAccounts: string[];
  /** Autocannon load on Tally (a unique Idempotency-Key per request is the scenario's job). */
  tallyLoad(label: string, options: Omit<LoadOptions, 'url' | 'seconds'>): LoadSide;
  /** wrk load on Tally, as light a client as pgbench: a script of bench/wrk/ and what it reads (WRK_RUN is set per run). */
  tallyWrkLoad(label: string, load: { connections: number; script: string; env: Record<string, string> }): LoadSide;
  /** A shared baseline script run by pgbench on the same server. */
  pgbench(script: 'spend' | 'hot', clients: number): Side<MeasuredBaseline>;
  /** Warms both sides up, then measures them in alternating slices, `seconds` each in all. */
  compare<A, B>(a: Side<A>, b: Side<B>): Promise<[A, B]>;
  log(line: string): void;
}

export interface Scenario {
  name: ScenarioName;
  run(context: BenchContext): Promise<ScenarioOutcome>;
}

export const formatRate = (value: number, unit: string) => `${Math.round(value).toLocaleString('en-US')} ${unit}`;
export const formatMs = (value: number) => `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
