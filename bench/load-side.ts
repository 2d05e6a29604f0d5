import type { Side } from './interleave.js';
import { summarizeLoad, type LoadRun, type LoadRunner } from './load.js';
import type { MeasuredLoad } from './scenarios/scenario.js';
import type { createSliceMonitor } from './slice-monitor.js';

export type LoadSide = Side<MeasuredLoad> & {
  /** True while a counted slice runs: onResponse counters of a scenario count only then. */
  readonly measuring: boolean;
};

/** A load on Tally (autocannon's or wrk's, over `connections`) as one side of a comparison. */
export function createLoadSide(label: string, monitor: ReturnType<typeof createSliceMonitor>, connections: number, run: LoadRunner): LoadSide {
  const runs: LoadRun[] = [];
  let measuring = false;
  return {
    label,
    get measuring() {
      return measuring;
    },
    async warmUp(seconds) {
      await run(seconds);
    },
    async measure(seconds) {
      measuring = true;
      try {
        runs.push(await monitor.watch(() => run(seconds)));
      } finally {
        measuring = false;
      }
    },
    result() {
      return { ...summarizeLoad(runs, connections), ...monitor.observed(), sliceRequestsPerSecond: runs.map((run) => Math.round(Object.values(run.statusCodes).reduce((a, b) => a + b, 0) / run.durationSeconds)) };
    },
  };
}
