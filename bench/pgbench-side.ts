import type { Side } from './interleave.js';
import { quantile } from './load.js';
import { runPgbench, type PgbenchResult, type PgbenchRun } from './pgbench.js';
import type { MeasuredBaseline } from './scenarios/scenario.js';
import type { createSliceMonitor } from './slice-monitor.js';

/**
 * A pgbench script as one side of a comparison; slices combine into one tps and mean latency, and
 * the sampled latencies of all slices (when `run.latencySample` is set) into one p99.
 */
export function createPgbenchSide(label: string, monitor: ReturnType<typeof createSliceMonitor>, run: Omit<PgbenchRun, 'seconds'>): Side<MeasuredBaseline> {
  const slices: PgbenchResult[] = [];
  return {
    label,
    async warmUp(seconds) {
      await runPgbench({ ...run, seconds });
    },
    async measure(seconds) {
      slices.push(await monitor.watch(() => runPgbench({ ...run, seconds })));
    },
    result() {
      const seconds = slices.reduce((sum, s) => sum + s.seconds, 0);
      const transactions = slices.reduce((sum, s) => sum + s.transactions, 0);
      const sampled = Float64Array.from(slices.flatMap((s) => s.sampledLatenciesMs ?? [])).sort();
      const { sampledLatenciesMs: _samples, ...first } = slices[0];
      return {
        ...first,
        seconds,
        transactions,
        // tps as pgbench states it (without connection time), over the slices' summed seconds.
        tps: slices.reduce((sum, s) => sum + s.tps * s.seconds, 0) / seconds,
        meanLatencyMs: slices.reduce((sum, s) => sum + s.meanLatencyMs * s.transactions, 0) / (transactions || 1),
        failed: slices.reduce((sum, s) => sum + s.failed, 0),
        ...(sampled.length ? { p99LatencyMs: quantile(sampled, 0.99), latencySamples: sampled.length } : {}),
        slices: slices.map((s) => ({ seconds: s.seconds, tps: s.tps, meanLatencyMs: s.meanLatencyMs })),
        ...monitor.observed(),
      };
    },
  };
}
