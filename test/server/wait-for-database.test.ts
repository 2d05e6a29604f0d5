import t from 'tap';
import { startOwnServer } from '../database.js';
import { startTally } from './process.js';

const env = (databaseUrl: string, waitSeconds: string) => ({ DATABASE_URL: databaseUrl, DATABASE_WAIT_SECONDS: waitSeconds, TALLY_DATA_DIR: '/tmp/unused', PORT: '0', STRIPE_SIMULATOR_PORT: '0' });

t.test('a start waits for a PostgreSQL that comes up after Tally, then migrates and serves', async (t) => {
  const postgres = await startOwnServer(t, { started: false });
  // PostgreSQL starts once Tally has found it down (a slow machine may take seconds to get there).
  let foundDown!: () => void;
  const saidWaiting = new Promise<void>((resolve) => (foundDown = resolve));
  const starting = startTally(env(postgres.url, '60'), 90_000, { onOutput: (output) => /waiting for PostgreSQL/.test(output) && foundDown() });
  await Promise.race([saidWaiting, starting]);
  await postgres.start();
  const tally = await starting;
  t.teardown(() => tally.child.kill('SIGKILL'));
  t.match(tally.output(), /waiting for PostgreSQL at 127\.0\.0\.1:\d+\/tally \(up to 60 s, DATABASE_WAIT_SECONDS\): .*ECONNREFUSED/, 'it said what it waited for');
  t.equal((await fetch(`${tally.url}/readyz`)).status, 200, 'ready: migrated and serving');
  t.equal(await tally.stop('SIGTERM'), 0);

  const wrongPassword = new URL(postgres.url);
  wrongPassword.password = 'not-the-password';
  const started = Date.now();
  await t.rejects(startTally(env(wrongPassword.toString(), '60'), 30_000), /Tally exited:\s*PostgreSQL at 127\.0\.0\.1:\d+\/tally refused Tally: password authentication failed for user "tally"\s*$/, 'a refusal waiting cannot cure stops at once, in one line');
  t.ok(Date.now() - started < 20_000, 'without waiting the 60 s');

  const elsewhere = new URL(postgres.url);
  elsewhere.pathname = '/made_later';
  await t.rejects(
    startTally(env(elsewhere.toString(), '2'), 30_000),
    /waiting for PostgreSQL at 127\.0\.0\.1:\d+\/made_later \(up to 2 s, DATABASE_WAIT_SECONDS\): database "made_later" does not exist[\s\S]*was not ready within 2 s/,
    'a database not made yet is waited for (a server may listen before its database is created), and the wait says which',
  );
});

t.test('a PostgreSQL that never answers stops the start after DATABASE_WAIT_SECONDS, naming it, with no stack trace', async (t) => {
  const postgres = await startOwnServer(t, { started: false });
  await t.rejects(
    startTally(env(postgres.url, '2'), 30_000),
    /Tally exited:[\s\S]*PostgreSQL at 127\.0\.0\.1:\d+\/tally was not ready within 2 s \(DATABASE_WAIT_SECONDS\): connect ECONNREFUSED 127\.0\.0\.1:\d+\s*$/,
  );
});
