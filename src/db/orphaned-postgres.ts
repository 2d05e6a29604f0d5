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
  if (serverPid === null || owner === null || !isAlive(serverPid) || isAlive(owner)) return null;
  // The pid may have been reused since: only a postgres serving this very folder is stopped.
  if (!commandLineOf(serverPid).includes(clusterDir)) return null;
  process.kill(serverPid, 'SIGINT');
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(100)) {
    if (!isAlive(serverPid)) {
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

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, run by another user (as root, PostgreSQL runs as `postgres`; root may signal it).
    return (error as NodeJS.ErrnoException).code === 'EPERM';
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
