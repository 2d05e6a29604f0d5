import t from 'tap';
import pg from 'pg';
import { openSchemaEngine } from '../../src/db/schema-engine.js';
import { createTestDatabase } from '../database.js';
import { serverUrl } from '../helper.js';

const NO_FILTERS = { externalTables: [], externalEnums: [] };
const migration = (path: string, sql: string) => ({ path, migrationFile: { path: 'migration.sql', content: { tag: 'ok' as const, value: sql } } });

t.test("a migration that fails is recorded, and reported, with PostgreSQL's error, and leaves nothing behind", async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['a unique index over duplicates', 'CREATE TABLE half (id int);\nINSERT INTO half VALUES (1), (1);\nCREATE UNIQUE INDEX half_id ON half (id);\n', /Unique constraint failed: half_id/],
    ['any other error', 'CREATE TABLE half (id int);\nSELECT 1 / 0;\n', /division by zero/],
  ];
  for (const [what, sql, error] of cases) {
    const url = await createTestDatabase(await serverUrl(t), 'template1');
    const { engine, close } = await openSchemaEngine(url, { path: 'schema.prisma', content: 'datasource db { provider = "postgresql" }' });
    const applying = engine.applyMigrations({
      migrationsList: { baseDir: '/nowhere', lockfile: { path: 'migration_lock.toml', content: null }, shadowDbInitScript: '', migrationDirectories: [migration('1_half', sql)] },
      filters: NO_FILTERS,
    });
    await t.rejects(applying, error, `${what}: the start's error names it`);
    await close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const recorded = await client.query(`SELECT logs, finished_at FROM _prisma_migrations WHERE migration_name = '1_half'`);
    const table = await client.query(`SELECT to_regclass('half') AS found`);
    await client.end();
    t.match(recorded.rows[0].logs, error, `${what}: so does _prisma_migrations, which the next start reports`);
    t.equal(recorded.rows[0].finished_at, null);
    t.equal(table.rows[0].found, null, `${what}: the script ran as one transaction, rolled back`);
  }
});
