import t from 'tap';
import { build } from '../helper.js';
import { accountAndPack } from './fixtures.js';

async function counts(ctx: Awaited<ReturnType<typeof build>>) {
  const { rows } = await ctx.database.pool.query('SELECT (SELECT count(*) FROM checkouts)::int AS checkouts, (SELECT count(*) FROM packs)::int AS packs');
  return rows[0];
}

t.test('Stripe failing on checkout creation: a clear 502/503 and no orphan rows', async (t) => {
  const ctx = await build(t, { env: { STRIPE_TIMEOUT_MS: '1500', STRIPE_MAX_RETRIES: '0' } });
  const { pack } = await accountAndPack(ctx);
  const before = await counts(ctx);
  const attempt = () => ctx.call('POST', '/v1/checkout/sessions', { accountId: 'acct_buyer', packId: pack.id });

  ctx.simulator.failNext({ method: 'POST', path: '/v1/checkout/sessions', status: 500 });
  const outage = await attempt();
  t.equal(outage.status, 502, 'a Stripe 500 is a 502');
  t.equal(outage.body.error.code, 'stripe_error');
  t.match(outage.body.error.message, /Stripe failed/);

  ctx.simulator.failNext({ method: 'POST', path: '/v1/checkout/sessions', delayMs: 3000 });
  const timeout = await attempt();
  t.equal(timeout.status, 503, 'a timeout is a 503');
  t.equal(timeout.body.error.code, 'stripe_unreachable');

  ctx.simulator.failNext({ method: 'POST', path: '/v1/checkout/sessions', status: 429, error: { type: 'rate_limit_error', message: 'Too many requests' } });
  const limited = await attempt();
  t.equal(limited.status, 503);
  t.equal(limited.body.error.code, 'stripe_rate_limited');

  t.same(await counts(ctx), before, 'no checkout row was left behind');
  t.equal((await attempt()).status, 201, 'and the next attempt works');
});

t.test('a bad Stripe key is a 502 naming the cause, and writes nothing', async (t) => {
  const ctx = await build(t, { stripeSecretKey: 'sk_test_invalid_key' });
  const reply = await ctx.call('POST', '/v1/packs', { name: 'X', credits: 1, unitAmount: 100, currency: 'usd' });
  t.equal(reply.status, 502);
  t.equal(reply.body.error.code, 'stripe_authentication_failed');
  t.notOk(JSON.stringify(reply.body).includes('sk_test_invalid_key'), 'the key is not echoed');
  t.same((await counts(ctx)).packs, 0);
  await ctx.call('PUT', '/v1/accounts/acct_buyer', {});
  const portal = await ctx.call('POST', '/v1/portal/sessions', { accountId: 'acct_buyer' });
  t.equal(portal.status, 502);
  t.equal((await ctx.call('GET', '/v1/accounts/acct_buyer')).body.stripeCustomerId, null, 'no customer id recorded');
});
