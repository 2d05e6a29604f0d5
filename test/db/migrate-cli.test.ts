import t from 'tap';
import { spawn } from 'node:child_process';
import pg from 'pg';
import { readMigrationFiles } from '../../src/db/migration-files.js';
import { PRISMA_MIGRATE_LOCK } from '../../src/db/migration-lock.js';
import { createTestDatabase } from '../database.js';
import { serverUrl } from '../helper.js';
import { ROOT } from '../server/process.js';

/** `node dist/db/migrate-cli.js`, as the image runs it (npm run migrate runs the same file from src/). */
function migrate(databaseUrl: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['dist/db/migrate-cli.js'], { cwd: ROOT, env: { ...process.env, DATABASE_URL: databaseUrl }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })));
}

t.test('the migrate command, run beside a start that is migrating, waits for it as a start does; and refuses an edited migration', async (t) => {
  const url = await createTestDatabase(await serverUrl(t), 'template1');
  const other = new pg.Client({ connectionString: url });
  await other.connect();
  await other.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATE_LOCK]);
  const released = new Promise((resolve) => setTimeout(resolve, 15_000)).then(() => other.end());
  const migrating = migrate(url);
  await released;
  const { code, output } = await migrating;
  t.match(output, /another process is applying migrations to this database .*: waiting for it/);
  t.match(output, /migrations applied: 20261125112848_init, /);
  t.equal(code, 0);

  const [first] = await readMigrationFiles();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`UPDATE _prisma_migrations SET checksum = repeat('0', 64) WHERE migration_name = $1`, [first.name]);
  await client.end();
  const refused = await migrate(url);
  t.equal(refused.code, 1);
  t.match(refused.output, new RegExp(`^migration ${first.name} differs from the file this database applied`));
});
