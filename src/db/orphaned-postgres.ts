import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A PostgreSQL server outlives the process that started it when that process is killed (SIGKILL, the
 * OOM killer; a signal Tally can catch stops the server with it): it keeps the data folder's lock, and every later start
 * failed ("lock file postmaster.pid already exists") until someone found and stopped it by hand.
 * The process that started the server records its pid beside the cluster (`ownerFile`); a server
 * whose recorded owner is gone is an orphan, and is stopped as PostgreSQL's own fast shutdown does
 * (SIGINT: open transactions roll back, what was committed stays). A server whose owner lives (another
 * Tally, `npm run api-key`), or that has no owner recorded, is left alone, and the start fails as before.
 * Returns the pid of the server it stopped, if any.
 */
export async function stopOrphanedPostgres(clusterDir: string, ownerFile: string, timeoutMs = 30_000): Promise<number | null> {
  const serverPid = readPid(`${clusterDir}/postmaster.pid`);
  const owner = readPid(ownerFile);
  if (serverPid === null || owner === null || !isRunning(serverPid) || isRunning(owner)) return null;
  // The pid may have been reused since: only a postgres serving this very folder is stopped.
  if (!commandLineOf(serverPid).includes(clusterDir)) return null;
  process.kill(serverPid, 'SIGINT');
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(100)) {
    if (!isRunning(serverPid)) {
      rmSync(ownerFile, { force: true });
      return serverPid;
    }
  }
  return null;
}

/** Records this process as the owner of the server it has just started. */
export function recordOwner(ownerFile: string): void {
  writeFileSync(ownerFile, `${process.pid}\n`);
}

function readPid(file: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8').split('\n')[0], 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Whether `pid` is a running process. A process that has exited but that its parent has not yet
 * reaped (a zombie: an orphan's new parent, often PID 1, reaps when it gets to it) still answers
 * kill(pid, 0), yet it holds no lock and serves nothing: it is not running.
 */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists, run by another user (as root, PostgreSQL runs as `postgres`; root may signal it).
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return stateOf(pid) !== 'Z';
}

/** The state letter in Linux's /proc/<pid>/stat (after the command name, which may hold spaces); elsewhere null. */
function stateOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

/** Linux's /proc; elsewhere nothing is known, so nothing is stopped. */
function commandLineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}
