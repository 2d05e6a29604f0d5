import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDatabaseUnreachable, unreachableReason } from './database-unreachable.js';

/** PostgreSQL was not ready at start in time, or refused Tally for a reason waiting cannot cure. */
export class DatabaseStartError extends Error {}

/**
 * Waits for PostgreSQL at start, trying each second for `waitSeconds`: in a deployment it may come
 * up after Tally (a container platform without depends_on, a database restarting), and its database
 * may be created only once the server listens. A refusal that waiting cannot cure (a wrong password,
 * no such user) stops at once. `say` hears the wait at once and every 10 s after, so that a log
 * shows what Tally is waiting for.
 */
export async function waitForDatabase(url: string, waitSeconds: number, say: (line: string) => void): Promise<void> {
  const where = describeServer(url);
  const until = Date.now() + waitSeconds * 1000;
  let saidAt = 0;
  for (;;) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
    client.on('error', () => {
      // A connection lost while trying: the attempt fails and the loop tries again.
    });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (error) {
      const reason = unreachableReason(error);
      if (!isDatabaseUnreachable(error) && !isDatabaseMissing(error)) throw new DatabaseStartError(`PostgreSQL at ${where} refused Tally: ${reason}`);
      if (Date.now() >= until) throw new DatabaseStartError(`PostgreSQL at ${where} was not ready within ${waitSeconds} s (DATABASE_WAIT_SECONDS): ${reason}`);
      if (Date.now() - saidAt >= 10_000) {
        say(`waiting for PostgreSQL at ${where} (up to ${waitSeconds} s, DATABASE_WAIT_SECONDS): ${reason}`);
        saidAt = Date.now();
      }
    } finally {
      await client.end().catch(() => undefined);
    }
    await sleep(1000);
  }
}

/** host:port/database, without the user or password. */
function describeServer(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`;
}

/** invalid_catalog_name: the server answers, its database is not made yet (or is misnamed: the wait says which). */
function isDatabaseMissing(error: unknown): boolean {
  return (error as { code?: string }).code === '3D000';
}
