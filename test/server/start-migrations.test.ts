import t from 'tap';
import pg from 'pg';
import { readMigrationFiles } from '../../src/db/migration-files.js';
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

t.test('a migration file changed since the database applied it stops the start, naming it', async (t) => {
  const url = await createTestDatabase(await serverUrl(t));
  const [first] = await readMigrationFiles();
  await query(url, `UPDATE _prisma_migrations SET checksum = repeat('0', 64) WHERE migration_name = '${first.name}'`);
  await t.rejects(
    startTally(env(url), 60_000),
    new RegExp(`Tally exited:\\s*migration ${first.name} differs from the file this database applied \\(its checksum in _prisma_migrations\\)[^\\n]*\\s*$`),
    'one clear message, no stack trace',
  );
});

t.test('a failed migration stops the start, naming it and its error, without a stack trace', async (t) => {
  const url = await createTestDatabase(await serverUrl(t));
  const files = await readMigrationFiles();
  const last = files[files.length - 1].name;
  await query(url, `UPDATE _prisma_migrations SET finished_at = NULL, logs = 'ERROR: could not create unique index' WHERE migration_name = '${last}'`);
  const refused = await startTally(env(url), 60_000).then(
    () => '',
    (error: Error) => error.message,
  );
  t.match(refused, new RegExp(`migration ${last} failed \\(started [^)]+\\): ERROR: could not create unique index`));
  t.match(refused, /rolled_back_at/, 'it says how to mark it resolved');
  t.notMatch(refused, /^\s+at /m, 'no stack trace');
});

t.test('a migration whose process was killed before it recorded the outcome stops the start, saying it may be applied or not', async (t) => {
  const url = await createTestDatabase(await serverUrl(t));
  const files = await readMigrationFiles();
  const last = files[files.length - 1].name;
  // What a start killed mid-migration leaves: PostgreSQL went on and committed the migration, the engine never recorded it finished.
  await query(url, `UPDATE _prisma_migrations SET finished_at = NULL, logs = NULL WHERE migration_name = '${last}'`);
  await t.rejects(
    startTally(env(url), 60_000),
    new RegExp(`migration ${last} did not finish \\(started [^)]+\\) and no error is recorded: .*may have committed it .*SET finished_at = now\\(\\).*SET rolled_back_at = now\\(\\)`),
  );
});

t.test('a database migrated by a newer version (a deploy rolled back) is served, with a warning naming what this version does not know', async (t) => {
  const url = await createTestDatabase(await serverUrl(t));
  await query(
    url,
    `INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, applied_steps_count) VALUES ('x', repeat('0', 64), now(), '29990101000000_future', 1)`,
  );
  const tally = await startTally(env(url), 60_000);
  t.teardown(() => tally.child.kill('SIGKILL'));
  t.match(tally.output(), /this database has migrations this version of Tally does not know \(a newer version applied them\): 29990101000000_future/);
  t.equal((await fetch(`${tally.url}/readyz`)).status, 200);
  t.equal(await tally.stop(), 0);
});
