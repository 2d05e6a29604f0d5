import { createServer, type Server } from 'node:net';
import pg from 'pg';
import t from 'tap';
import { createTestDatabase } from '../database.js';
import { ADMIN_KEY, serverUrl } from '../helper.js';
import { startTally } from './process.js';

t.test('the start-up banner and log show where Stripe and the database are, never a password in their URLs', async (t) => {
  const databaseUrl = await createTestDatabase(await serverUrl(t));
  const { username, password } = new URL(databaseUrl);
  t.ok(password, 'the test database is reached with a password');
  const tally = await startTally({
    DATABASE_URL: databaseUrl,
    TALLY_ADMIN_KEY: ADMIN_KEY,
    PORT: '0',
    LOG_LEVEL: 'info',
    STRIPE_SECRET_KEY: 'sk_test_banner',
    STRIPE_WEBHOOK_SECRET: 'whsec_banner_0123456789abcdef',
    // A Stripe-compatible server behind a proxy that wants a login: nothing is asked of it at start.
    STRIPE_API_URL: 'http://proxy-user:proxy-s3cret@127.0.0.1:9/',
  });
  t.teardown(() => tally.child.kill('SIGKILL'));
  const output = tally.output();
  t.match(output, /stripe:\s+Stripe-compatible server at http:\/\/…@127\.0\.0\.1:9\//, 'the banner names the Stripe server');
  t.notMatch(output, /proxy-s3cret/, "not the Stripe URL's password");
  t.notMatch(output, /proxy-user/, 'nor its user');
  t.notOk(output.includes(`${username}:${password}@`), "nor the database URL's user and password");
  t.equal(await tally.stop(), 0);
});

/**
 * README: against an external database, "a first admin key is created and printed once when none exists".
 * It is created only once Tally listens, and printed then: a first start that cannot listen makes none,
 * so the next start still shows one (before, the key was stored and never seen by anyone).
 */
t.test('a first start that fails to listen leaves no admin key nobody was shown: the next start shows the first one', async (t) => {
  const databaseUrl = await createTestDatabase(await serverUrl(t));
  const server: Server = createServer();
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
  t.teardown(() => server.close());
  const base = { DATABASE_URL: databaseUrl, TALLY_DATA_DIR: '/tmp/unused', NODE_ENV: 'production', STRIPE_SIMULATOR: 'on', STRIPE_SIMULATOR_PORT: '0', HOST: '127.0.0.1' };

  const first = await startTally({ ...base, PORT: String(port) }).then(
    (tally) => (tally.child.kill('SIGKILL'), 'started'),
    (error: Error) => error.message,
  );
  t.match(first, /PORT \d+ is in use/, 'the first start could not listen');
  t.notMatch(first, /tally_admin_/, 'and showed no admin key');
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  t.teardown(() => db.end());
  t.equal((await db.query("SELECT count(*)::int AS n FROM api_keys WHERE role = 'admin'")).rows[0].n, 0, 'nor stored one');

  const second = await startTally({ ...base, PORT: '0' });
  t.teardown(() => second.child.kill('SIGKILL'));
  t.match(second.output(), /admin key:\s+tally_admin_\S+\s+\(shown once: store it now\)/, 'the next start shows a first admin key');
  t.equal((await fetch(`${second.url}/v1/packs`, { headers: { authorization: `Bearer ${second.adminKey}` } })).status, 200, 'and it works');
  t.equal(await second.stop(), 0);
});
