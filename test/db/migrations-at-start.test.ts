import { createHash } from 'node:crypto';
import t from 'tap';
import pg from 'pg';
import { migrateAtStart } from '../../src/db/migrate-in-child.js';
import { readMigrationFiles } from '../../src/db/migration-files.js';
import { readMigrationState, upToDate } from '../../src/db/migrations-applied.js';
import { createTestDatabase } from '../database.js';
import { serverUrl } from '../helper.js';

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
