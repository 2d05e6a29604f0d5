import t from 'tap';
import { build } from '../helper.js';
import { account, counts } from './fixtures.js';

const base = { accountId: 'acct_org', name: 'Custom work', amount: 10_000, currency: 'usd' };

t.test('every bad input is a 4xx with the error shape, before Stripe is asked, and writes nothing', async (t) => {
  const ctx = await build(t);
  await account(ctx);
  const cases: Array<[Record<string, unknown>, number, string]> = [
    [{ amount: 0 }, 400, 'invalid_request'],
    [{ amount: -500 }, 400, 'invalid_request'],
    [{ amount: 12.5 }, 400, 'invalid_request'],
    [{ amount: '1000' }, 400, 'invalid_request'],
    [{ amount: 49 }, 400, 'amount_too_small'],
    [{ amount: 29, currency: 'gbp' }, 400, 'amount_too_small'],
    [{ amount: 49, currency: 'JPY' }, 400, 'amount_too_small'],
    [{ amount: 17_499, currency: 'huf' }, 400, 'amount_too_small'],
    [{ amount: 100_000_000 }, 400, 'amount_too_large'],
    [{ amount: 5050, currency: 'isk' }, 400, 'invalid_amount'],
    [{ amount: 1005, currency: 'KWD' }, 400, 'invalid_amount'],
    [{ currency: 'xyz' }, 400, 'invalid_currency'],
    [{ currency: 'us' }, 400, 'invalid_request'],
    [{ currency: 'dollars' }, 400, 'invalid_request'],
    [{ expiresInSeconds: 1799 }, 400, 'invalid_request'],
    [{ expiresInSeconds: 86_401 }, 400, 'invalid_request'],
    [{ expiresInSeconds: 3600.5 }, 400, 'invalid_request'],
    [{ credits: 0 }, 400, 'invalid_request'],
    [{ name: '' }, 400, 'invalid_request'],
    [{ name: '   ' }, 400, 'invalid_request'],
    [{ successUrl: 'https://evil.example/' }, 400, 'redirect_origin_not_allowed'],
    [{ extra: true }, 400, 'invalid_request'],
    [{ accountId: 'nobody' }, 404, 'account_not_found'],
  ];
  for (const [change, status, code] of cases) {
    const reply = await ctx.call('POST', '/v1/bills', { ...base, ...change }, { key: ctx.serviceKey });
    t.equal(reply.status, status, `${JSON.stringify(change)}: ${status}`);
    t.equal(reply.body.error?.code, code, `${JSON.stringify(change)}: ${code}`);
    t.type(reply.body.error?.message, 'string');
  }
  t.same(await counts(ctx), { bills: 0, checkouts: 0 }, 'no row written');
  t.equal((await ctx.stripe.checkout.sessions.list()).data.length, 0, 'Stripe was never asked');

  const minimal = await ctx.call('POST', '/v1/bills', { ...base, amount: 50 });
  t.equal(minimal.status, 201, "Stripe's minimum itself is fine");
  const unlisted = await ctx.call('POST', '/v1/bills', { ...base, amount: 100, currency: 'ISK' });
  t.equal(unlisted.status, 201, "a currency without a documented minimum is left to Stripe's judgement (one króna)");
  const fils = await ctx.call('POST', '/v1/bills', { ...base, amount: 1010, currency: 'kwd' });
  t.equal(fils.status, 201, 'a three-decimal amount whose last digit is 0');
  t.equal((await ctx.call('GET', '/v1/accounts/nobody/bills')).status, 404);
});

t.test('Stripe refusing or failing: 502/503 naming the cause, and no bill row', async (t) => {
  const ctx = await build(t, { env: { STRIPE_TIMEOUT_MS: '1500', STRIPE_MAX_RETRIES: '0' } });
  await account(ctx);
  const attempt = () => ctx.call('POST', '/v1/bills', base);
  ctx.simulator.failNext({ method: 'POST', path: '/v1/checkout/sessions', status: 500 });
  const outage = await attempt();
  t.equal(outage.status, 502);
  t.equal(outage.body.error.code, 'stripe_error');

  ctx.simulator.failNext({ method: 'POST', path: '/v1/checkout/sessions', delayMs: 3000 });
  const timeout = await attempt();
  t.equal(timeout.status, 503);
  t.equal(timeout.body.error.code, 'stripe_unreachable');

  ctx.simulator.failNext({ method: 'POST', path: '/v1/checkout/sessions', status: 400, error: { type: 'invalid_request_error', message: 'Amount must convert to at least 50 cents.', code: 'amount_too_small' } });
  const tooSmall = await attempt();
  t.equal(tooSmall.status, 400, "Stripe's own amount_too_small is the client's error");
  t.equal(tooSmall.body.error.code, 'amount_too_small');

  ctx.simulator.failNext({ method: 'POST', path: '/v1/checkout/sessions', status: 400, error: { type: 'invalid_request_error', message: 'Invalid amount. Currency ISK has become effectively zero-decimal and charged amounts must be evenly divisible by 100.', code: 'invalid_charge_amount_no_decimal_compatible' } });
  const fractional = await attempt();
  t.same([fractional.status, fractional.body.error.code, fractional.body.error.details], [400, 'invalid_amount', { field: 'amount' }], "Stripe's refusal of an amount it cannot charge is the client's error too");

  t.same(await counts(ctx), { bills: 0, checkouts: 0 }, 'nothing half-made');
  t.equal((await attempt()).status, 201, 'the next attempt works');
});

t.test('a Stripe key Stripe refuses: 502 stripe_authentication_failed, no bill', async (t) => {
  const ctx = await build(t, { stripeSecretKey: 'sk_test_invalid_key' });
  await account(ctx);
  const reply = await ctx.call('POST', '/v1/bills', base);
  t.equal(reply.status, 502);
  t.equal(reply.body.error.code, 'stripe_authentication_failed');
  t.same(await counts(ctx), { bills: 0, checkouts: 0 });
});
