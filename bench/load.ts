import autocannon from 'autocannon';

export interface LoadOptions {
  url: string;
  connections: number;
  seconds: number;
  /** The sequence each connection repeats; setupRequest/onResponse make requests unique or chained. */
  requests: autocannon.Request[];
  headers?: Record<string, string>;
}

/** One load run (autocannon's or wrk's), raw: every response's latency is kept so that runs combine exactly. */
export interface LoadRun {
  durationSeconds: number;
  /** Responses by status ("200"), or by class of status ("2xx", "4xx/5xx") when that is all the tool tells. */
  statusCodes: Record<string, number>;
  errors: number;
  timeouts: number;
  latenciesMs: number[];
}

export interface LoadResult {
  connections: number;
  durationSeconds: number;
  /** Completed responses, any status. */
  responses: number;
  requestsPerSecond: number;
  /** Over every response, errors included. */
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  statusCodes: Record<string, number>;
  non2xx: number;
  status5xx: number;
  /** Connection errors, timeouts included. */
  errors: number;
  timeouts: number;
}

/** Runs a load for `seconds`. */
export type LoadRunner = (seconds: number) => Promise<LoadRun>;

/** One autocannon run, in this process (never in Tally's), over keep-alive connections to 127.0.0.1. */
export async function runLoad(options: LoadOptions): Promise<LoadRun> {
  const latenciesMs: number[] = [];
  const instance = autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.seconds,
    headers: options.headers,
    requests: options.requests,
    timeout: 10,
  });
  instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => latenciesMs.push(responseTime));
  const result = await instance;
  return {
    durationSeconds: result.duration,
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count])),
    errors: result.errors,
    timeouts: result.timeouts,
    latenciesMs,
  };
}

/** Several runs of the same load as one: rates over their summed duration, percentiles over all responses. */
export function summarizeLoad(runs: LoadRun[], connections: number): LoadResult {
  const statusCodes: Record<string, number> = {};
  for (const run of runs) for (const [code, n] of Object.entries(run.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
  const count = (test: (status: string) => boolean) => Object.entries(statusCodes).reduce((sum, [status, n]) => (test(status) ? sum + n : sum), 0);
  const latencies = Float64Array.from(runs.flatMap((run) => run.latenciesMs)).sort();
  const at = (q: number) => round(quantile(latencies, q));
  const durationSeconds = runs.reduce((sum, run) => sum + run.durationSeconds, 0);
  const responses = count(() => true);
  return {
    connections,
    durationSeconds,
    responses,
    requestsPerSecond: responses / durationSeconds,
    latencyMs: { mean: round(latencies.reduce((sum, v) => sum + v, 0) / latencies.length), p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) },
    statusCodes,
    non2xx: count((status) => !status.startsWith('2')),
    status5xx: count((status) => status.startsWith('5') || status.includes('5xx')),
    errors: runs.reduce((sum, run) => sum + run.errors, 0),
    timeouts: runs.reduce((sum, run) => sum + run.timeouts, 0),
  };
}

/** The value at quantile `q` (0.99 for p99) of values sorted in ascending order; NaN when there are none. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] : NaN;
}

const round = (ms: number) => Math.round(ms * 100) / 100;
