import t from 'tap';
import { build, key } from '../helper.js';
import { accountAndPlan, advancePastPeriodEnd, grantsOf, settled, subscribe } from './fixtures.js';

t.test('a plan owns its Stripe Product and recurring Price; a new amount is a new Price, subscribers keep theirs', async (t) => {
  const ctx = await build(t, { listen: true });
  const idempotency = key('plan');
  const body = { name: 'Pro', credits: 10_000, unitAmount: 2900, currency: 'USD', interval: 'month', description: '10,000 credits a month' };
  const created = await ctx.call('POST', '/v1/plans', body, { 'idempotency-key': idempotency });
  t.equal(created.status, 201);
  t.match(created.body, { name: 'Pro', credits: 10_000, unitAmount: 2900, currency: 'usd', interval: 'month', rollover: false, active: true });
  const price = await ctx.stripe.prices.retrieve(created.body.stripePriceId);
  t.match(price, { unit_amount: 2900, currency: 'usd', product: created.body.stripeProductId, recurring: { interval: 'month' } });
  const retried = await ctx.call('POST', '/v1/plans', body, { 'idempotency-key': idempotency });
  t.equal(retried.status, 201, 'a retry answers as the first, status included');
  t.equal(retried.body.id, created.body.id);
  t.equal((await ctx.stripe.products.list()).data.length, 1, 'and made no second product');

  t.same((await ctx.call('GET', '/v1/plans', undefined, { key: ctx.serviceKey })).body.data.map((p: { id: string }) => p.id), [created.body.id]);
  t.equal((await ctx.call('GET', `/v1/plans/${created.body.id}`)).body.stripePriceId, created.body.stripePriceId);
  t.equal((await ctx.call('GET', '/v1/plans/plan_nope')).status, 404);

  await ctx.call('PUT', '/v1/accounts/acct_org', {});
  const { subscriptionId } = await subscribe(ctx, 'acct_org', created.body.id);
  await settled(ctx);

  const patched = await ctx.call('PATCH', `/v1/plans/${created.body.id}`, { unitAmount: 3900, credits: 12_000 });
  t.equal(patched.status, 200);
  t.not(patched.body.stripePriceId, created.body.stripePriceId, 'a new price');
  t.equal((await ctx.stripe.prices.retrieve(created.body.stripePriceId)).active, false, 'the old one is no longer sold');
  const subscription = await ctx.stripe.subscriptions.retrieve(subscriptionId);
  t.equal(subscription.items.data[0]!.price.id, created.body.stripePriceId, 'the subscriber keeps the old price');

  await advancePastPeriodEnd(ctx, subscriptionId);
  await settled(ctx);
  t.same((await grantsOf(ctx, 'acct_org')).map((g) => g.amount), [10_000, 12_000], "the old price still leads to the plan, and its current credits");

  const byOldPrice = await ctx.call('POST', '/v1/checkout/sessions', { accountId: 'acct_org', priceId: created.body.stripePriceId, mode: 'subscription' }, { key: ctx.serviceKey });
  t.equal(byOldPrice.status, 400, 'but a checkout by the old price is refused, as by a pack\'s old price: it would charge the new one');
  t.match(byOldPrice.body.error, { code: 'unknown_price', details: { field: 'priceId', planId: created.body.id, priceId: patched.body.stripePriceId } }, 'naming the price sold now');
});

t.test('a plan or a pack takes a stripePriceId alone: with an amount, a currency or an interval it is a 400, and nothing is made or changed', async (t) => {
  const ctx = await build(t);
  const product = await ctx.stripe.products.create({ name: 'Dashboard product' });
  const monthly = await ctx.stripe.prices.create({ product: product.id, unit_amount: 5000, currency: 'eur', recurring: { interval: 'month' } });
  const once = await ctx.stripe.prices.create({ product: product.id, unit_amount: 5000, currency: 'eur' });
  const plan = (await ctx.call('POST', '/v1/plans', { name: 'Pro', credits: 10, unitAmount: 2900, currency: 'usd', interval: 'month' })).body;
  const pack = (await ctx.call('POST', '/v1/packs', { name: 'Starter', credits: 10, unitAmount: 500, currency: 'usd' })).body;
  const before = (await ctx.database.pool.query('SELECT id, stripe_price_id FROM plans UNION ALL SELECT id, stripe_price_id FROM packs ORDER BY id')).rows;
  const refused: Array<[string, string, Record<string, unknown>, string]> = [
    ['POST', '/v1/plans', { name: 'Dashboard', credits: 10, unitAmount: 500, currency: 'usd', stripePriceId: monthly.id }, 'unitAmount, currency'],
    ['POST', '/v1/plans', { name: 'Dashboard', credits: 10, interval: 'year', stripePriceId: monthly.id }, 'interval'],
    ['PATCH', `/v1/plans/${plan.id}`, { unitAmount: 5000, stripePriceId: monthly.id }, 'unitAmount'],
    ['POST', '/v1/packs', { name: 'Dashboard', credits: 10, unitAmount: 500, currency: 'usd', stripePriceId: once.id }, 'unitAmount, currency'],
    ['PATCH', `/v1/packs/${pack.id}`, { currency: 'eur', stripePriceId: once.id }, 'currency'],
  ];
  for (const [method, path, body, fields] of refused) {
    const answer = await ctx.call(method, path, body);
    t.equal(answer.status, 400, `${method} ${path} ${JSON.stringify(body)}`);
    t.match(answer.body.error, { code: 'invalid_request', message: new RegExp(`stripePriceId: cannot be given with ${fields}`) });
  }
  const after = (await ctx.database.pool.query('SELECT id, stripe_price_id FROM plans UNION ALL SELECT id, stripe_price_id FROM packs ORDER BY id')).rows;
  t.same(after, before, 'no plan or pack made or changed');
  t.equal((await ctx.call('PATCH', `/v1/plans/${plan.id}`, { stripePriceId: monthly.id })).body.stripePriceId, monthly.id, 'alone, the price is adopted');
  t.equal((await ctx.call('PATCH', `/v1/packs/${pack.id}`, { stripePriceId: once.id })).body.unitAmount, 5000, 'with its amount');
});

t.test('plan input is checked; only admins manage plans', async (t) => {
  const ctx = await build(t);
  const cases: Array<[Record<string, unknown>, number, string]> = [
    [{ name: 'X', credits: 10, unitAmount: 100, currency: 'usd' }, 400, 'invalid_request'],
    [{ name: 'X', credits: 10, unitAmount: 100, currency: 'usd', interval: 'week' }, 400, 'invalid_request'],
    [{ name: 'X', credits: 0, unitAmount: 100, currency: 'usd', interval: 'month' }, 400, 'invalid_request'],
    [{ name: 'X', credits: 10, unitAmount: 1.5, currency: 'usd', interval: 'month' }, 400, 'invalid_request'],
    [{ name: 'X', credits: 10, stripePriceId: 'price_nope' }, 400, 'unknown_stripe_price'],
    [{ name: 'X', credits: 10, unitAmount: 100, currency: 'xyz', interval: 'month' }, 400, 'invalid_currency'],
    [{ name: 'X', credits: 10, unitAmount: 99_950, currency: 'isk', interval: 'month' }, 400, 'invalid_amount'],
    [{ name: 'X', credits: 10, unitAmount: 12_345, currency: 'jod', interval: 'month' }, 400, 'invalid_amount'],
  ];
  for (const [body, status, code] of cases) {
    const reply = await ctx.call('POST', '/v1/plans', body);
    t.equal(reply.status, status, JSON.stringify(body));
    t.equal(reply.body.error.code, code);
  }
  const product = await ctx.stripe.products.create({ name: 'One-off' });
  const oneTime = await ctx.stripe.prices.create({ product: product.id, unit_amount: 500, currency: 'usd' });
  t.equal((await ctx.call('POST', '/v1/plans', { name: 'X', credits: 10, stripePriceId: oneTime.id })).body.error.code, 'invalid_request');
  const yearly = await ctx.stripe.prices.create({ product: product.id, unit_amount: 50_000, currency: 'usd', recurring: { interval: 'year' } });
  const adopted = await ctx.call('POST', '/v1/plans', { name: 'Yearly', credits: 100_000, stripePriceId: yearly.id, rollover: true });
  t.match(adopted.body, { interval: 'year', unitAmount: 50_000, rollover: true, stripePriceId: yearly.id });
  t.equal((await ctx.call('PATCH', `/v1/plans/${adopted.body.id}`, { unitAmount: 1 })).body.error.code, 'price_managed_elsewhere');
  const krona = await ctx.call('POST', '/v1/plans', { name: 'ISK', credits: 10, unitAmount: 99_900, currency: 'isk', interval: 'month' });
  t.equal(krona.status, 201, 'ISK 999 a month');
  const fractional = await ctx.call('PATCH', `/v1/plans/${krona.body.id}`, { unitAmount: 99_950 });
  t.same([fractional.status, fractional.body.error.code, fractional.body.error.details], [400, 'invalid_amount', { field: 'unitAmount', multipleOf: 100 }], 'nor changed to ISK 999.50');
  const forbidden = await ctx.call('POST', '/v1/plans', { name: 'X', credits: 10, unitAmount: 100, currency: 'usd', interval: 'month' }, { key: ctx.serviceKey });
  t.equal(forbidden.status, 403);
  const { rows } = await ctx.database.pool.query('SELECT count(*)::int AS n FROM plans');
  t.equal(rows[0].n, 2, 'only the valid plans were stored');
});

t.test('checkout takes planId, or the shape frontends send: { accountId, priceId, mode }', async (t) => {
  const ctx = await build(t);
  const { plan } = await accountAndPlan(ctx, 'acct_org');
  const pack = (await ctx.call('POST', '/v1/packs', { name: 'Top-up', credits: 500, unitAmount: 500, currency: 'usd' })).body;
  const open = (body: Record<string, unknown>) => ctx.call('POST', '/v1/checkout/sessions', body, { key: ctx.serviceKey });

  const byPrice = await open({ accountId: 'acct_org', priceId: pack.stripePriceId, mode: 'payment' });
  t.match(byPrice.body, { kind: 'pack', credits: 500 }, "a pack's price opens a payment checkout");
  t.equal((await ctx.stripe.checkout.sessions.retrieve(byPrice.body.id)).mode, 'payment');

  const bad: Array<[Record<string, unknown>, number, string]> = [
    [{ accountId: 'acct_org', priceId: pack.stripePriceId, mode: 'subscription' }, 400, 'mode_mismatch'],
    [{ accountId: 'acct_org', priceId: plan.stripePriceId, mode: 'payment' }, 400, 'mode_mismatch'],
    [{ accountId: 'acct_org', priceId: 'price_unknown', mode: 'payment' }, 400, 'unknown_price'],
    [{ accountId: 'acct_org', planId: plan.id, packId: pack.id }, 400, 'invalid_request'],
    [{ accountId: 'acct_org' }, 400, 'invalid_request'],
    [{ accountId: 'acct_org', planId: plan.id, quantity: 2 }, 400, 'invalid_request'],
    [{ accountId: 'acct_org', planId: 'plan_nope' }, 404, 'plan_not_found'],
    [{ accountId: 'nobody', planId: plan.id }, 404, 'account_not_found'],
  ];
  for (const [body, status, code] of bad) {
    const reply = await open(body);
    t.equal(reply.status, status, JSON.stringify(body));
    t.equal(reply.body.error?.code, code);
  }

  const subscription = await open({ accountId: 'acct_org', priceId: plan.stripePriceId, mode: 'subscription' });
  t.match(subscription.body, { kind: 'subscription', credits: 1000 });
  const session = await ctx.stripe.checkout.sessions.retrieve(subscription.body.id);
  t.equal(session.mode, 'subscription');
  t.match(session.metadata, { tally_account_id: 'acct_org', tally_kind: 'subscription', tally_plan_id: plan.id });

  await ctx.simulator.pay(subscription.body.id);
  const second = await open({ accountId: 'acct_org', planId: plan.id });
  t.equal(second.status, 409, 'a live subscription at Stripe (not yet heard of by webhook) blocks a second');
  t.equal(second.body.error.code, 'subscription_exists');
  await ctx.call('POST', `/v1/checkout/sessions/${subscription.body.id}/sync`);
  t.match((await ctx.call('GET', '/v1/accounts/acct_org/subscription')).body, { status: 'active', currentPeriodCredits: 1000 }, 'the success sync recorded it');
  const third = await open({ accountId: 'acct_org', priceId: plan.stripePriceId, mode: 'subscription' });
  t.equal(third.status, 409);
  t.equal(third.body.error.code, 'subscription_exists');
  t.equal((await open({ accountId: 'acct_org', packId: pack.id })).status, 201, 'packs can still be bought');

  await ctx.call('PATCH', `/v1/plans/${plan.id}`, { active: false });
  await ctx.call('PUT', '/v1/accounts/acct_other', {});
  t.equal((await open({ accountId: 'acct_other', planId: plan.id })).body.error.code, 'plan_inactive');
  t.equal((await ctx.call('GET', '/v1/accounts/acct_other/subscription')).status, 404);
});

t.test("a metered Stripe price is no plan's: refused when adopted, as Checkout would refuse every subscription to it", async (t) => {
  const ctx = await build(t);
  await ctx.call('PUT', '/v1/accounts/acct_metered', {});
  const product = await ctx.stripe.products.create({ name: 'Usage' });
  const metered = await ctx.stripe.prices.create({ product: product.id, unit_amount: 5, currency: 'usd', recurring: { interval: 'month', usage_type: 'metered' } });
  const adopted = await ctx.call('POST', '/v1/plans', { name: 'Usage', credits: 100, stripePriceId: metered.id }, { 'idempotency-key': key('plan') });
  t.equal(adopted.status, 400, `refused: ${JSON.stringify(adopted.body)}`);
  t.match(adopted.body.error, { code: 'invalid_request', details: { field: 'stripePriceId' } });
  if (adopted.status === 201) {
    const checkout = await ctx.call('POST', '/v1/checkout/sessions', { accountId: 'acct_metered', planId: adopted.body.id });
    t.equal(checkout.status, 400, `what adopting it led to: ${JSON.stringify(checkout.body)}`);
  }
  const licensed = (await ctx.call('POST', '/v1/plans', { name: 'Basic', credits: 100, unitAmount: 900, currency: 'usd', interval: 'month' }, { 'idempotency-key': key('plan') })).body;
  const changed = await ctx.call('PATCH', `/v1/plans/${licensed.id}`, { stripePriceId: metered.id });
  t.equal(changed.status, 400, 'nor given to a plan later');
});
