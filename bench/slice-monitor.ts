import { cpuShares, startCpuMeter, type CpuShares, type CpuUsage } from './cpu-meter.js';
import { combinePgActivity, countCommits, startPgActivitySampler, type PgActivity } from './pg-activity-sampler.js';

export interface Observed {
  /** Share of one core used by Tally, PostgreSQL and the load generator (100 = one core). */
  cpu: CpuShares;
  /** PostgreSQL backends of the measured side, on average, by state. */
  pgActivity: PgActivity;
  /** Transactions committed in the database over the measured slices, by every client. */
  commits: number;
}

/**
 * Watches the measured slices of one side: CPU use of each party and what the side's PostgreSQL
 * backends were doing, to tell which of them held the throughput back.
 */
export function createSliceMonitor(tallyPid: number, database: { url: string; postmasterPid?: number }, applicationName: string) {
  const cpu: CpuUsage[] = [];
  const activity: PgActivity[] = [];
  let commits = 0;
  return {
    async watch<T>(work: () => Promise<T>): Promise<T> {
      const sampler = await startPgActivitySampler(database.url, applicationName);
      const committed = await countCommits(database.url);
      const meter = startCpuMeter(tallyPid, database.postmasterPid);
      try {
        return await work();
      } finally {
        cpu.push(await meter.stop());
        commits += (await countCommits(database.url)) - committed;
        activity.push(await sampler.stop());
      }
    },
    observed(): Observed {
      return { cpu: cpuShares(cpu), pgActivity: combinePgActivity(activity), commits };
    },
  };
}
