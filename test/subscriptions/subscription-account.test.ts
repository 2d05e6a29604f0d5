import t from 'tap';
import { build } from '../helper.js';
import { accountAndPlan, deliver, grantsOf, handled, subscribe, subscriptionOf } from './fixtures.js';

// Which account a subscription Tally has no row of is recorded for, and so which account every one of
// its periods is granted to: the account whose Stripe customer it is on (Tally sells a plan only on the
// account's customer), whatever its metadata says. The subscription's metadata is Stripe-side data
// anyone holding the key can edit (POST /v1/subscriptions/:id), as the session's is.

t.test("a recorded subscription checkout whose subscription's tally_account_id was edited at Stripe grants the account Tally recorded, not the edited one", async (t) => {
  const ctx = await build(t);
  const { plan } = await accountAndPlan(ctx, 'acct_org', { credits: 1000, unitAmount: 1000 });
  await ctx.call('PUT', '/v1/accounts/acct_other', { email: 'other@example.com', name: 'Other' });
  const { checkout, session, subscriptionId } = await subscribe(ctx, 'acct_org', plan.id);
  // Edited before Tally handled any event of the subscription (events come in any order).
  await ctx.stripe.subscriptions.update(subscriptionId, { metadata: { tally_account_id: 'acct_other' } });
  await deliver(ctx, 'checkout.session.completed', session, { id: 'evt_sub_edited' });
  await handled(ctx);

  t.match((await ctx.call('GET', `/v1/checkout/sessions/${checkout.id}`)).body, { accountId: 'acct_org', fulfilled: true }, "Tally's record of the checkout names acct_org");
  t.same(await grantsOf(ctx, 'acct_other'), [], 'the account named by the edited subscription metadata gets nothing');
  t.ok(ctx.logs.some((line) => line.includes('names another account than the one whose Stripe customer it is on') && line.includes(subscriptionId)), 'the edit is logged');
  t.equal((await ctx.call('GET', '/v1/accounts/acct_org/balance')).body.available, 1000, 'the paying account gets the plan credits it paid for');
  const { rows } = await ctx.database.pool.query('SELECT account_id FROM subscriptions WHERE stripe_subscription_id = $1', [subscriptionId]);
  t.same(rows, [{ account_id: 'acct_org' }], 'the subscription (and so every renewal) is recorded for the account of the checkout');
});

t.test("a recorded subscription checkout whose subscription's tally metadata was removed at Stripe is granted, not recorded fulfilled with no grant", async (t) => {
  const ctx = await build(t);
  const { plan } = await accountAndPlan(ctx, 'acct_org', { credits: 1000, unitAmount: 1000 });
  const { checkout, session, subscriptionId } = await subscribe(ctx, 'acct_org', plan.id);
  await ctx.stripe.subscriptions.update(subscriptionId, { metadata: { tally_account_id: '', tally_plan_id: '', tally_instance: '' } });
  await deliver(ctx, 'checkout.session.completed', session, { id: 'evt_sub_bare' });
  await handled(ctx);

  const recorded = (await ctx.call('GET', `/v1/checkout/sessions/${checkout.id}`)).body;
  t.equal((await ctx.call('GET', '/v1/accounts/acct_org/balance')).body.available, 1000, "the paid subscription's first period is granted to acct_org");
  t.ok(!recorded.fulfilled || recorded.grantId !== null, `not recorded fulfilled without a grant (fulfilled ${recorded.fulfilled}, grantId ${recorded.grantId}): no reconciler pass looks at it again`);
  t.match(await subscriptionOf(ctx, 'acct_org'), { status: 'active' }, 'the subscription is recorded for acct_org');
});

t.test("a subscription Tally never sold, on one account's Stripe customer, whose metadata names another account: its invoices grant that other account nothing", async (t) => {
  const ctx = await build(t);
  const { plan } = await accountAndPlan(ctx, 'acct_org', { credits: 1000, unitAmount: 1000 });
  await ctx.call('PUT', '/v1/accounts/acct_other', { email: 'other@example.com', name: 'Other' });
  // acct_org's own subscription gives it its Stripe customer (and a card on file).
  const { subscriptionId: own } = await subscribe(ctx, 'acct_org', plan.id);
  const customer = (await ctx.stripe.subscriptions.retrieve(own)).customer as string;
  // Made with the Stripe key, not through Tally: no checkouts row, no stamp, acct_org's customer pays.
  const made = await ctx.stripe.checkout.sessions.create({
    mode: 'subscription',
    customer,
    line_items: [{ price: plan.stripePriceId, quantity: 1 }],
    success_url: 'https://example.com/ok',
    subscription_data: { metadata: { tally_account_id: 'acct_other' } },
  });
  await ctx.simulator.pay(made.id);
  const session = await ctx.stripe.checkout.sessions.retrieve(made.id);
  const invoice = await ctx.stripe.invoices.retrieve(session.invoice as string);
  await deliver(ctx, 'invoice.paid', invoice, { id: 'evt_foreign_invoice' });
  await handled(ctx);

  t.same(await grantsOf(ctx, 'acct_other'), [], "acct_other, whose customer never paid, gets no credits from acct_org's card");
  const { rows } = await ctx.database.pool.query('SELECT account_id FROM subscriptions WHERE stripe_subscription_id = $1', [session.subscription]);
  t.same(rows, [{ account_id: 'acct_org' }], "recorded for acct_org, whose customer it is on and whose card pays it");
  t.equal((await grantsOf(ctx, 'acct_org')).length, 1, 'acct_org is granted the period its card paid for (its own subscription\'s events were not delivered)');
});

t.test("a subscription on an account's customer to a price that is none of Tally's plans', without Tally's metadata, is the merchant's other business: not recorded", async (t) => {
  const ctx = await build(t);
  const { plan } = await accountAndPlan(ctx, 'acct_org', { credits: 1000, unitAmount: 1000 });
  await subscribe(ctx, 'acct_org', plan.id); // gives acct_org its Stripe customer
  const customer = (await ctx.call('GET', '/v1/accounts/acct_org')).body.stripeCustomerId as string;
  const support = await ctx.stripe.prices.create({ product_data: { name: 'Support contract' }, unit_amount: 5000, currency: 'usd', recurring: { interval: 'month' } });
  const made = await ctx.stripe.checkout.sessions.create({ mode: 'subscription', customer, line_items: [{ price: support.id, quantity: 1 }], success_url: 'https://example.com/ok' });
  await ctx.simulator.pay(made.id);
  const session = await ctx.stripe.checkout.sessions.retrieve(made.id);
  await deliver(ctx, 'customer.subscription.created', await ctx.stripe.subscriptions.retrieve(session.subscription as string), { id: 'evt_support_created' });
  await deliver(ctx, 'invoice.paid', await ctx.stripe.invoices.retrieve(session.invoice as string), { id: 'evt_support_paid' });
  await handled(ctx);

  const { rows } = await ctx.database.pool.query('SELECT 1 FROM subscriptions WHERE stripe_subscription_id = $1', [session.subscription]);
  t.same(rows, [], 'no row');
  t.same(await grantsOf(ctx, 'acct_org'), [], 'nothing granted');
});
