import t from 'tap';
import { build, key, type TestApp } from '../helper.js';
import { accountAndPack } from '../stripe/fixtures.js';

/** The JSON log lines of one request, by the request id its answer carries. */
function logLinesOf(ctx: TestApp, reply: { headers: Record<string, unknown> }): Array<Record<string, any>> {
  const lines = ctx.logs.join('').trim().split('\n').map((line) => JSON.parse(line));
  return lines.filter((line) => line.reqId === reply.headers['x-request-id']);
}

t.test('a 5xx is logged with its request id, route and cause, for whoever sees the 5xx rate rise', async (t) => {
  const refused = await build(t, { stripeSecretKey: 'sk_test_invalid_key' });
  const pack = await refused.call('POST', '/v1/packs', { name: 'X', credits: 1, unitAmount: 100, currency: 'usd' }, { 'idempotency-key': key() });
  t.equal(pack.status, 502);
  t.match(
    logLinesOf(refused, pack).find((line) => line.level >= 40),
    { level: 50, route: '/v1/packs', code: 'stripe_authentication_failed', details: { requestId: /^req_/ }, msg: /Stripe refused Tally's API key/ },
    'Stripe refusing the key is an error line naming the route and Stripe request',
  );

  const ctx = await build(t, { env: { STRIPE_TIMEOUT_MS: '1500', STRIPE_MAX_RETRIES: '0' } });
  const { pack: starter } = await accountAndPack(ctx);
  ctx.simulator.failNext({ method: 'POST', path: '/v1/checkout/sessions', status: 500 });
  const failed = await ctx.call('POST', '/v1/checkout/sessions', { accountId: 'acct_buyer', packId: starter.id });
  t.equal(failed.status, 502);
  t.match(logLinesOf(ctx, failed).find((line) => line.level >= 40), { level: 50, route: '/v1/checkout/sessions', code: 'stripe_error' }, 'a Stripe failure too');

  ctx.simulator.failNext({ method: 'POST', path: '/v1/checkout/sessions', status: 429, error: { type: 'rate_limit_error', message: 'Too many requests' } });
  const limited = await ctx.call('POST', '/v1/checkout/sessions', { accountId: 'acct_buyer', packId: starter.id });
  t.equal(limited.status, 503);
  t.match(logLinesOf(ctx, limited).find((line) => line.level >= 40), { level: 40, route: '/v1/checkout/sessions', code: 'stripe_rate_limited' }, 'a 503 worth retrying is a warning');

  await ctx.database.pool.query('ALTER TABLE accounts RENAME TO accounts_away');
  const broken = await ctx.call('GET', '/v1/accounts/acct_buyer');
  await ctx.database.pool.query('ALTER TABLE accounts_away RENAME TO accounts');
  t.equal(broken.status, 500);
  t.match(logLinesOf(ctx, broken).find((line) => line.level >= 40), { level: 50, route: '/v1/accounts/:accountId', msg: 'unhandled error', err: { type: String } }, 'an unhandled error names its route too');
});

t.test("a database error that quotes its row keeps the customer's email and name out of the log", async (t) => {
  const ctx = await build(t);
  // A row PostgreSQL refuses, as any integrity failure of an account row would be: its error's detail
  // is "Failing row contains (...)", every column of the row.
  await ctx.database.pool.query("ALTER TABLE accounts ADD CONSTRAINT refuses_this_row CHECK (email IS DISTINCT FROM 'ada.lovelace@example.com')");
  const refused = await ctx.call('PUT', '/v1/accounts/acct_ada', { email: 'ada.lovelace@example.com', name: 'Ada Lovelace' });
  t.equal(refused.status, 500);
  const logged = JSON.stringify(logLinesOf(ctx, refused));
  t.match(logged, /refuses_this_row/, 'the log names what PostgreSQL refused');
  t.notMatch(logged, /ada\.lovelace@example\.com/, 'not the email');
  t.notMatch(logged, /Ada Lovelace/, 'nor the name');
});

t.test("Stripe refusing a call that quotes the customer keeps the email out of the log, not the code", async (t) => {
  const ctx = await build(t);
  const { pack } = await accountAndPack(ctx, 'acct_ada');
  await ctx.call('PUT', '/v1/accounts/acct_ada', { email: 'ada.lovelace@example.com', name: 'Ada Lovelace' });
  // As Stripe refuses an address its own rules do not take: its message quotes what was sent.
  ctx.simulator.failNext({ method: 'POST', path: '/v1/customers', status: 400, error: { type: 'invalid_request_error', code: 'email_invalid', message: 'Invalid email address: ada.lovelace@example.com' } });
  const refused = await ctx.call('POST', '/v1/checkout/sessions', { accountId: 'acct_ada', packId: pack.id });
  t.equal(refused.status, 502);
  t.match(refused.body.error, { code: 'stripe_invalid_request', message: /Invalid email address: ada\.lovelace@example\.com/, details: { stripeCode: 'email_invalid' } }, "the caller is told Stripe's reason, about its own account's data");
  const logged = logLinesOf(ctx, refused);
  t.match(logged.find((line) => line.level >= 40), { level: 50, route: '/v1/checkout/sessions', code: 'stripe_invalid_request', details: { stripeCode: 'email_invalid', requestId: /^req_/ }, msg: /Stripe refused the request to create a customer/ }, 'the log says what Stripe refused, with its code and request id');
  t.notMatch(JSON.stringify(logged), /ada\.lovelace@example\.com/, 'not the email Stripe quoted');
});
