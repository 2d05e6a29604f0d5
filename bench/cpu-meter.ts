import { postgresCpuSeconds, readProcessStats, statFields } from './process-stats.js';

/** CPU seconds each party used over `seconds` of wall-clock time. */
export interface CpuUsage {
  seconds: number;
  tally: number;
  postgres: number;
  /** The load generator: this process (autocannon) and its children that ended meanwhile (wrk, pgbench). */
  bench: number;
}

/** Share of one core each party used: 100 = one core busy all the time. */
export type CpuShares = Omit<CpuUsage, 'seconds'>;

/**
 * Starts measuring CPU use of Tally, the PostgreSQL server (when it runs on this machine) and the
 * bench; `stop` returns the use since. NaN for what cannot be read.
 */
export function startCpuMeter(tallyPid: number, postmasterPid: number | undefined): { stop(): Promise<CpuUsage> } {
  const started = process.hrtime.bigint();
  const tally = readProcessStats(tallyPid)?.cpuSeconds ?? NaN;
  const postgresNow = () => (postmasterPid ? postgresCpuSeconds(postmasterPid) : NaN);
  const postgres = postgresNow();
  const bench = process.cpuUsage();
  const children = childrenCpuSeconds();
  return {
    async stop() {
      const usage = process.cpuUsage(bench);
      const childrenUsed = childrenCpuSeconds() - children;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const tallyUsed = (readProcessStats(tallyPid)?.cpuSeconds ?? NaN) - tally;
      // Backends of connections that just closed (pgbench's) are counted once the postmaster has
      // reaped them; read a moment later, or their time would be missed.
      await new Promise((resolve) => setTimeout(resolve, 300));
      return { seconds, tally: tallyUsed, postgres: postgresNow() - postgres, bench: (usage.user + usage.system) / 1e6 + childrenUsed };
    },
  };
}

/** The shares over several measured slices together. */
export function cpuShares(usages: CpuUsage[]): CpuShares {
  const seconds = usages.reduce((sum, u) => sum + u.seconds, 0) || 1;
  const share = (pick: (u: CpuUsage) => number) => Math.round((usages.reduce((sum, u) => sum + pick(u), 0) / seconds) * 100);
  return { tally: share((u) => u.tally), postgres: share((u) => u.postgres), bench: share((u) => u.bench) };
}

/** CPU seconds of this process's children that ended and were reaped (its cutime and cstime); NaN without /proc. */
function childrenCpuSeconds(): number {
  try {
    const { cutime, cstime } = statFields(process.pid);
    return (cutime + cstime) / 100;
  } catch {
    return NaN;
  }
}
