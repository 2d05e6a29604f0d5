import type { Side } from './interleave.js';
import { runLoad, summarizeLoad, type LoadOptions, type LoadRun } from './load.js';
import type { MeasuredLoad } from './scenarios/scenario.js';
import type { createSliceMonitor } from './slice-monitor.js';

export type LoadSide = Side<MeasuredLoad> & {
  /** True while a counted slice runs: onResponse counters of a scenario count only then. */
  readonly measuring: boolean;
};

/** Autocannon load on Tally as one side of a comparison. */
export function createLoadSide(label: string, monitor: ReturnType<typeof createSliceMonitor>, options: Omit<LoadOptions, 'seconds'>): LoadSide {
  const runs: LoadRun[] = [];
  let measuring = false;
  return {
    label,
    get measuring() {
      return measuring;
    },
    async warmUp(seconds) {
      await runLoad({ ...options, seconds });
    },
    async measure(seconds) {
      measuring = true;
      try {
        runs.push(await monitor.watch(() => runLoad({ ...options, seconds })));
      } finally {
        measuring = false;
      }
    },
    result() {
      return { ...summarizeLoad(runs, options.connections), ...monitor.observed(), sliceRequestsPerSecond: runs.map((run) => Math.round(Object.values(run.statusCodes).reduce((a, b) => a + b, 0) / run.durationSeconds)) };
    },
  };
}
