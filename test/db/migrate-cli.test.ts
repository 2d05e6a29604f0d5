import t from 'tap';
import { spawn } from 'node:child_process';
import pg from 'pg';
import { readMigrationFiles } from '../../src/db/migration-files.js';
import { PRISMA_MIGRATE_LOCK } from '../../src/db/migration-lock.js';
import { freePort } from '../../src/db/embedded-postgres.js';
import { createTestDatabase, startOwnServer } from '../database.js';
import { serverUrl } from '../helper.js';
import { ROOT } from '../server/process.js';

/** `node dist/db/migrate-cli.js`, as the image runs it (npm run migrate runs the same file from src/). */
function migrate(databaseUrl: string, env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> & { running(): boolean; output(): string } {
  const child = spawn(process.execPath, ['dist/db/migrate-cli.js'], { cwd: ROOT, env: { ...process.env, DATABASE_URL: databaseUrl, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<{ code: number | null; output: string }>((resolve) => child.on('exit', (code) => resolve({ code, output })));
  return Object.assign(exited, { running: () => child.exitCode === null && child.signalCode === null, output: () => output });
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

/** README, Database and migrations: the migrate command runs "the same checks and the same wait as a start". */
t.test('the migrate command waits DATABASE_WAIT_SECONDS for PostgreSQL, as a start does, and names the server when it gives up', async (t) => {
  const postgres = await startOwnServer(t, { started: false });
  const migrating = migrate(postgres.url, { DATABASE_WAIT_SECONDS: '60' });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.ok(migrating.running(), `still waiting after 1.5 s (output: ${JSON.stringify(migrating.output())})`);
  await postgres.start();
  const { code, output } = await migrating;
  t.match(output, /waiting for PostgreSQL at 127\.0\.0\.1:\d+\/\w+ \(up to 60 s, DATABASE_WAIT_SECONDS\)/, 'says what it waits for');
  t.match(output, /migrations applied: 20261125112848_init/, 'then migrates');
  t.equal(code, 0);

  // Nothing listening, and a short wait: it gives up naming the server, not its password.
  const port = await freePort();
  const gaveUp = await migrate(`postgresql://tally:s3cret-pw@127.0.0.1:${port}/tally`, { DATABASE_WAIT_SECONDS: '2' });
  t.equal(gaveUp.code, 1);
  t.match(gaveUp.output, new RegExp(`PostgreSQL at 127\\.0\\.0\\.1:${port}/tally was not ready within 2 s \\(DATABASE_WAIT_SECONDS\\)`));
  t.notMatch(gaveUp.output, /s3cret-pw/, 'without the password');
});
