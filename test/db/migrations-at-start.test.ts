import { createHash } from 'node:crypto';
import t from 'tap';
import pg from 'pg';
import { migrateAtStart } from '../../src/db/migrate-in-child.js';
import { readMigrationFiles } from '../../src/db/migration-files.js';
import { readMigrationState, upToDate } from '../../src/db/migrations-applied.js';
import { createTestDatabase } from '../database.js';
import { eventually, serverUrl } from '../helper.js';

async function query(url: string, sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

const tables = async (url: string) =>
  (await query(url, `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`)).rows[0].n as number;

t.test('a start applies the migrations to an empty database, and a later start finds nothing to do without the engine', async (t) => {
  const url = await createTestDatabase(await serverUrl(t), 'template1');
  t.equal(upToDate(await readMigrationState(url)), false, 'no _prisma_migrations yet: not applied');
  t.equal(await migrateAtStart(url), true, 'the engine ran');
  const files = await readMigrationFiles();
  const recorded = await query(url, 'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY migration_name');
  t.same(recorded.rows.map((r) => r.migration_name), files.map((f) => f.name), 'every migration recorded, as the engine applied it');
  t.ok((await tables(url)) > 5, 'the schema is there');
  t.equal(upToDate(await readMigrationState(url)), true);
  t.equal(await migrateAtStart(url), false, 'the next start does not run the engine');
});

t.test('anything but every migration applied as written, and nothing else, is not taken for up to date', async (t) => {
  const files = await readMigrationFiles();
  const last = files[files.length - 1].name;
  const cases: Array<[string, string]> = [
    ['the newest migration not applied yet', `DELETE FROM _prisma_migrations WHERE migration_name = '${last}'`],
    ['a migration that failed', `UPDATE _prisma_migrations SET finished_at = NULL WHERE migration_name = '${last}'`],
    ['a migration marked rolled back (prisma migrate resolve --rolled-back) and not applied again', `UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = '${last}'`],
    ['a migration changed since it was applied', `UPDATE _prisma_migrations SET checksum = repeat('0', 64) WHERE migration_name = '${files[0].name}'`],
    [
      'a migration this version does not know (a newer version ran)',
      `INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, applied_steps_count) VALUES ('x', 'x', now(), '29990101000000_future', 1)`,
    ],
    [
      'a migration applied twice',
      `INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, applied_steps_count) SELECT 'y', checksum, now(), migration_name, 1 FROM _prisma_migrations WHERE migration_name = '${last}'`,
    ],
  ];
  for (const [what, change] of cases) {
    const url = await createTestDatabase(await serverUrl(t));
    t.equal(upToDate(await readMigrationState(url)), true, `${what}: the template is up to date before`);
    await query(url, change);
    t.equal(upToDate(await readMigrationState(url)), false, `${what}: not up to date after`);
  }
  const url = await createTestDatabase(await serverUrl(t));
  await query(url, `UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = '${last}'`);
  await query(url, `INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, applied_steps_count) SELECT 'z', checksum, now(), migration_name, 1 FROM _prisma_migrations WHERE migration_name = '${last}'`);
  t.equal(upToDate(await readMigrationState(url)), true, 'a migration rolled back and applied again is applied');

  // A checkout that turned the file's line endings into CRLF (or back) has not changed the migration, for Prisma either.
  const crlf = createHash('sha256').update(files[0].sql.replace(/\n/g, '\r\n')).digest('hex');
  await query(url, `UPDATE _prisma_migrations SET checksum = '${crlf}' WHERE migration_name = '${files[0].name}'`);
  t.equal(upToDate(await readMigrationState(url)), true, 'a checksum of the file with CRLF line endings matches');
});

t.test('the expiry index is built on a database with grants while writes go on; a build that fails half-way leaves an INVALID index, which the next start names, and once dropped the migration applies again', async (t) => {
  const name = '20261203190000_grants_expiry_index';
  const url = await createTestDatabase(await serverUrl(t));
  const notApplied = `DROP INDEX grants_expires_at_idx; DELETE FROM _prisma_migrations WHERE migration_name = '${name}'`;
  await query(url, `${notApplied};
    INSERT INTO accounts (id) SELECT 'a' || n FROM generate_series(1, 20000) n;
    INSERT INTO grants (id, account_id, source, amount, remaining, expires_at) SELECT 'g' || n, 'a' || n, 'test', 10, 10, now() + n * interval '1 minute' FROM generate_series(1, 20000) n`);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  t.teardown(() => pool.end());
  const indexValid = async () => (await pool.query(`SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = to_regclass('grants_expires_at_idx')`)).rows[0]?.valid;
  let writing = true;
  let writes = 0;
  const spends = (async () => {
    for (; writing; writes++) await pool.query("BEGIN; SELECT 1 FROM accounts WHERE id = 'a1' FOR UPDATE; UPDATE grants SET remaining = remaining - 1 + 1 WHERE id = 'g1'; COMMIT");
  })();
  const said: string[] = [];
  t.equal(await migrateAtStart(url, (line) => said.push(line)), true, 'the engine ran');
  writing = false;
  await spends;
  t.same(said, [`migrations applied: ${name}`]);
  t.ok(writes > 0, `writes went on meanwhile (${writes})`);
  t.equal(await indexValid(), true, 'the index is built and valid');

  // Half-way: the build waits for a transaction older than it, and is cancelled meanwhile.
  await query(url, notApplied);
  const older = new pg.Client({ connectionString: url });
  await older.connect();
  await older.query('BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM accounts');
  const migrating = migrateAtStart(url);
  const building = await eventually(async () => (await pool.query(`SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND wait_event_type = 'Lock' AND query LIKE '%CREATE INDEX CONCURRENTLY%'`)).rows[0]?.pid);
  await pool.query('SELECT pg_cancel_backend($1)', [building]);
  await t.rejects(migrating, /canceling statement/, 'the start that was building it fails');
  await older.query('ROLLBACK');
  await older.end();
  t.equal(await indexValid(), false, 'PostgreSQL keeps the index it was building, INVALID');

  const refused = await migrateAtStart(url).then(() => undefined, (error: Error) => error.message);
  t.match(refused, `migration ${name} failed`, 'the next start refuses');
  t.match(refused, 'DROP INDEX CONCURRENTLY "grants_expires_at_idx"', 'and says how to remove the INVALID index it left');
  // Done as the message says, the next start applies the migration again.
  await query(url, `DROP INDEX CONCURRENTLY "grants_expires_at_idx"`);
  await query(url, `UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = '${name}' AND finished_at IS NULL`);
  t.equal(await migrateAtStart(url), true);
  t.equal(await indexValid(), true, 'built again, valid');
  t.equal(upToDate(await readMigrationState(url)), true);
});
