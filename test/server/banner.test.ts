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
