import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres.js';
import { applyMigrations } from '../src/db/migrations.js';
import { statFields } from './process-stats.js';

export interface BenchDatabase {
  url: string;
  /** What to print: "embedded PostgreSQL 17.x" or "DATABASE_URL (PostgreSQL 16.x)". */
  label: string;
  serverVersion: string;
  /** The server's postmaster when it runs on this machine, to measure its CPU use; else undefined. */
  postmasterPid?: number;
  stop(): Promise<void>;
}

/**
 * The PostgreSQL server Tally and the baselines share: the given one, or an embedded one in a
 * temporary folder that is removed when it stops. Tally's migrations are applied either way.
 */
export async function openBenchDatabase(databaseUrl: string | undefined, log: (line: string) => void): Promise<BenchDatabase> {
  let url = databaseUrl;
  let stop = async () => {};
  if (!url) {
    const dir = mkdtempSync(join(tmpdir(), 'tally-bench-pg-'));
    log(`starting an embedded PostgreSQL in ${dir}`);
    const embedded = await startEmbeddedPostgres({ dataDir: dir, persistent: false });
    url = embedded.url;
    stop = async () => {
      await embedded.stop();
      rmSync(dir, { recursive: true, force: true });
    };
  }
  try {
    await applyMigrations(url);
    const { serverVersion, postmasterPid } = await inspectServer(url);
    return { url, label: databaseUrl ? `DATABASE_URL (${serverVersion})` : `embedded ${serverVersion}`, serverVersion, postmasterPid, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function inspectServer(url: string): Promise<{ serverVersion: string; postmasterPid?: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ version: string; checkpointer: number | null }>(
      `SELECT 'PostgreSQL ' || current_setting('server_version') AS version,
              (SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer') AS checkpointer`,
    );
    return { serverVersion: rows[0].version, postmasterPid: localPostmaster(rows[0].checkpointer) };
  } finally {
    await client.end();
  }
}

/** The checkpointer's parent, if both are PostgreSQL processes of this machine (not a remote server). */
function localPostmaster(checkpointerPid: number | null): number | undefined {
  if (!checkpointerPid) return undefined;
  try {
    const checkpointer = statFields(checkpointerPid);
    return checkpointer.comm === 'postgres' && statFields(checkpointer.ppid).comm === 'postgres' ? checkpointer.ppid : undefined;
  } catch {
    return undefined;
  }
}
