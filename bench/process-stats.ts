import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessStats {
  /** Resident memory now (VmRSS), in MB. */
  rssMb: number;
  /** The highest resident memory since the process started (VmHWM), in MB. */
  peakRssMb: number;
  /** CPU time used so far, user + system, in seconds. */
  cpuSeconds: number;
}

/** Reads a process's memory and CPU time from /proc (Linux); undefined elsewhere or once it has exited. */
export function readProcessStats(pid: number): ProcessStats | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    const { utime, stime } = statFields(pid);
    return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024, cpuSeconds: (utime + stime) / 100 };
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds used so far by one PostgreSQL server on this machine: its postmaster, the backends and
 * workers it started, and those of them that ended (the postmaster's cutime and cstime, once it has
 * reaped them). Other PostgreSQL servers on the machine are not counted.
 */
export function postgresCpuSeconds(postmasterPid: number): number {
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = statFields(Number(entry));
      if (fields.comm !== 'postgres') continue;
      if (Number(entry) !== postmasterPid && fields.ppid !== postmasterPid) continue;
      ticks += fields.utime + fields.stime + fields.cutime + fields.cstime;
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks / 100;
}

/** The fields of /proc/<pid>/stat the bench reads (times in clock ticks, 100 a second on Linux). */
export function statFields(pid: number) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
    ppid: Number(fields[1]),
    utime: Number(fields[11]),
    stime: Number(fields[12]),
    cutime: Number(fields[13]),
    cstime: Number(fields[14]),
  };
}
