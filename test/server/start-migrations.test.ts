import t from 'tap';
import pg from 'pg';
import { createTestDatabase } from '../database.js';
import { ADMIN_KEY, serverUrl } from '../helper.js';
import { startTally } from './process.js';

// The session lock `prisma migrate deploy` (and Prisma's schema engine in Tally) holds while migrating.
const PRISMA_MIGRATE_LOCK = 72707369;
const env = (databaseUrl: string) => ({ DATABASE_URL: databaseUrl, TALLY_ADMIN_KEY: ADMIN_KEY, PORT: '0', STRIPE_SIMULATOR_PORT: '0' });

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

async function query(url: string, sql: string): Promise<pg.QueryResult> {
  const client = await connect(url);
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

t.test('a start that finds another process migrating waits for it, however long it takes, then serves', async (t) => {
  const url = await createTestDatabase(await serverUrl(t), 'template1');
  // Another Tally (or prisma migrate deploy) applying a migration that takes longer than the schema
  // engine's own 10 s wait for the lock: an index on a big table, a backfill.
  const other = await connect(url);
  await other.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATE_LOCK]);
  // Let go after 15 s, whatever the start did meanwhile.
  const released = new Promise((resolve) => setTimeout(resolve, 15_000)).then(() => other.end());
  const starting = startTally(env(url), 90_000);
  starting.catch(() => {}); // judged below
  await released;
  const tally = await starting;
  t.teardown(() => tally.child.kill('SIGKILL'));
  t.match(tally.output(), /another process is applying migrations to this database \(PostgreSQL backend \d+ holds Prisma's migration lock\): waiting for it/);
  t.match(tally.output(), /migrations applied: 20261125112848_init, /, 'then it applied them, and said so');
  t.equal((await fetch(`${tally.url}/readyz`)).status, 200);
  t.equal(await tally.stop(), 0);
});
