import t from 'tap';
import type Stripe from 'stripe';
import { build, type TestApp } from '../helper.js';
import { accountAndPlan, advancePastPeriodEnd, basicAndPro, createPlan, DAY, deliver, grantsOf, handled, settled, subscribe, subscriptionOf } from './fixtures.js';

const available = async (ctx: TestApp) => (await ctx.call('GET', '/v1/accounts/acct_org/balance')).body.available;

/** The invoice each tranche of the subscription's periods is recorded as paid by, by the level it starts from. */
async function tranchePayers(ctx: TestApp) {
  const { rows } = await ctx.database.pool.query('SELECT from_level, credits, stripe_invoice_id FROM subscription_grants ORDER BY period_end, from_level');
  return rows.map((row) => ({ from: Number(row.from_level), credits: Number(row.credits), invoice: row.stripe_invoice_id as string | null }));
}

/** Refunds, in full, the payment of an invoice. */
async function refundInvoice(ctx: TestApp, invoiceId: string) {
  const [payment] = (await ctx.stripe.invoicePayments.list({ invoice: invoiceId })).data;
  return ctx.stripe.refunds.create({ payment_intent: payment!.payment.payment_intent as string });
}

const prorationOf = async (ctx: TestApp, subscriptionId: string) =>
  (await ctx.stripe.invoices.list({ subscription: subscriptionId })).data.find((invoice) => invoice.billing_reason === 'subscription_update')!;

t.test('an upgrade mid-period grants the difference once; a downgrade applies from the next period', async (t) => {
  const ctx = await build(t, { listen: true });
  const { basic, pro } = await basicAndPro(ctx);
  const { subscriptionId } = await subscribe(ctx, 'acct_org', basic.id);
  await settled(ctx);
  await ctx.simulator.advanceClock(10 * DAY);

  const upgraded = await ctx.call('POST', `/v1/subscriptions/${subscriptionId}/change`, { planId: pro.id }, { key: ctx.serviceKey });
  t.equal(upgraded.status, 200);
  t.match(upgraded.body, { planId: pro.id, status: 'active', currentPeriodCredits: 5000 }, 'granted at once, from the reply');
  await settled(ctx);
  const invoices = (await ctx.stripe.invoices.list({ subscription: subscriptionId })).data;
  const proration = invoices.find((invoice) => invoice.billing_reason === 'subscription_update')!;
  t.ok(proration && proration.status === 'paid', 'the upgrade was charged now');

  let grants = await grantsOf(ctx, 'acct_org');
  t.same(grants.map((g) => g.amount), [1000, 4000], 'the first period, then the difference');
  t.equal(grants[0]!.expires_at!.getTime(), grants[1]!.expires_at!.getTime(), 'the difference expires with the current period');

  // Stripe redelivers, and sends the change's events again in any order: nothing more.
  const updated = await ctx.stripe.subscriptions.retrieve(subscriptionId);
  for (let i = 0; i < 3; i++) {
    await deliver(ctx, 'invoice.paid', proration);
    await deliver(ctx, 'customer.subscription.updated', updated);
  }
  await settled(ctx);
  t.same((await grantsOf(ctx, 'acct_org')).map((g) => g.amount), [1000, 4000], 'the difference was granted once');

  const downgraded = await ctx.call('POST', `/v1/subscriptions/${subscriptionId}/change`, { planId: basic.id });
  t.match(downgraded.body, { planId: basic.id, currentPeriodCredits: 5000, nextGrant: { credits: 1000 } }, 'the current period keeps its credits');
  await settled(ctx);
  t.equal((await grantsOf(ctx, 'acct_org')).length, 2, 'a downgrade grants nothing now');

  await advancePastPeriodEnd(ctx, subscriptionId);
  await settled(ctx);
  grants = await grantsOf(ctx, 'acct_org');
  t.same(grants.map((g) => g.amount), [1000, 4000, 1000], 'the next period gets the smaller plan');
  t.match(await subscriptionOf(ctx, 'acct_org'), { planId: basic.id, currentPeriodCredits: 1000 });

  const same = await ctx.call('POST', `/v1/subscriptions/${subscriptionId}/change`, { planId: basic.id });
  t.equal(same.status, 200, 'changing to the current plan changes nothing');
  t.equal((await ctx.call('POST', `/v1/subscriptions/${subscriptionId}/change`, { planId: 'plan_nope' })).status, 404);
});

t.test("an upgrade's proration refunded in full takes back the upgrade's credits, though Tally handled Stripe's reply before its invoice.paid", async (t) => {
  const ctx = await build(t, { listen: true });
  const { basic, pro } = await basicAndPro(ctx);
  const { subscriptionId, invoiceId } = await subscribe(ctx, 'acct_org', basic.id);
  await settled(ctx);
  await ctx.simulator.advanceClock(10 * DAY);
  ctx.simulator.setWebhookUrl(undefined); // the proration's invoice.paid comes after the reply, as it usually does
  t.equal((await ctx.call('POST', `/v1/subscriptions/${subscriptionId}/change`, { planId: pro.id }, { key: ctx.serviceKey })).status, 200);
  t.equal(await available(ctx), 5000, 'raised at once, from the reply');
  ctx.simulator.setWebhookUrl(`${ctx.url}/v1/webhooks/stripe`);
  await settled(ctx);
  const proration = await prorationOf(ctx, subscriptionId);
  t.ok(proration.amount_paid > 0, 'the upgrade was charged now');
  t.same(await tranchePayers(ctx), [{ from: 0, credits: 1000, invoice: invoiceId }, { from: 1000, credits: 4000, invoice: proration.id }], "the rise is the proration's");

  await refundInvoice(ctx, proration.id);
  await settled(ctx);
  t.equal(await available(ctx), 1000, "the upgrade's 4,000 credits taken back; the first invoice's stay");
  await refundInvoice(ctx, invoiceId);
  await settled(ctx);
  t.equal(await available(ctx), 0, "and the first invoice's 1,000 with its own refund");
});

t.test("a renewal's invoice.paid after its period's upgrade and proration: each invoice keeps the credits it paid for", async (t) => {
  const ctx = await build(t); // not listening: events are posted by hand, in the order chosen
  const { basic, pro } = await basicAndPro(ctx);
  const { checkout, subscriptionId, invoiceId } = await subscribe(ctx, 'acct_org', basic.id);
  t.equal((await ctx.call('POST', `/v1/checkout/sessions/${checkout.id}/sync`)).status, 200);
  await advancePastPeriodEnd(ctx, subscriptionId); // renewed and paid at Stripe; Tally hears nothing of it
  const renewal = (await ctx.stripe.invoices.list({ subscription: subscriptionId })).data.find((invoice) => invoice.billing_reason === 'subscription_cycle')!;
  await ctx.simulator.advanceClock(10 * DAY);
  t.equal((await ctx.call('POST', `/v1/subscriptions/${subscriptionId}/change`, { planId: pro.id }, { key: ctx.serviceKey })).status, 200);
  const proration = await prorationOf(ctx, subscriptionId);

  await deliver(ctx, 'invoice.paid', proration);
  await handled(ctx);
  t.equal(await available(ctx), 1000 + 5000, 'the first period, and the new one at the new plan\'s level');
  await deliver(ctx, 'invoice.paid', renewal);
  await handled(ctx);
  t.equal(await available(ctx), 6000, 'the late renewal grants nothing more');
  t.same((await tranchePayers(ctx)).slice(1), [{ from: 0, credits: 1000, invoice: renewal.id }, { from: 1000, credits: 4000, invoice: proration.id }], "the period's base is the renewal's, the rise the proration's");

  await refundInvoice(ctx, proration.id);
  await deliver(ctx, 'charge.refunded', (await ctx.stripe.charges.list({ payment_intent: (await ctx.stripe.invoicePayments.list({ invoice: proration.id })).data[0]!.payment.payment_intent as string })).data[0]);
  await handled(ctx);
  t.equal(await available(ctx), 2000, "the proration refunded: the upgrade's 4,000 taken back");
  t.not(invoiceId, renewal.id);
});

t.test('an upgrade in the portal (no invoice of its own) is granted from customer.subscription.updated, once', async (t) => {
  const ctx = await build(t, { listen: true });
  const { plan: basic } = await accountAndPlan(ctx, 'acct_org', { name: 'Basic', credits: 1000, unitAmount: 1000 });
  const pro = await createPlan(ctx, { name: 'Pro', credits: 2500, unitAmount: 2000 });
  const { subscriptionId } = await subscribe(ctx, 'acct_org', basic.id);
  await settled(ctx);
  const portal = await ctx.call('POST', '/v1/portal/sessions', { accountId: 'acct_org' });
  const response = await fetch(`${portal.body.url}/change-plan`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ subscription: subscriptionId, price: pro.stripePriceId }).toString(),
    redirect: 'manual',
  });
  t.equal(response.status, 303);
  await settled(ctx);
  t.same((await grantsOf(ctx, 'acct_org')).map((g) => g.amount), [1000, 1500]);
  t.match(await subscriptionOf(ctx, 'acct_org'), { planId: pro.id, currentPeriodCredits: 2500 });
});

t.test('an older customer.subscription.updated after a newer one changes nothing; a tie asks Stripe', async (t) => {
  const ctx = await build(t); // events are delivered by the test
  const { plan } = await accountAndPlan(ctx, 'acct_org');
  const { subscriptionId, session } = await subscribe(ctx, 'acct_org', plan.id);
  await deliver(ctx, 'checkout.session.completed', session);
  await settled(ctx);
  const before = await ctx.stripe.subscriptions.retrieve(subscriptionId);
  const canceling = await ctx.stripe.subscriptions.update(subscriptionId, { cancel_at_period_end: true });
  const now = ctx.simulator.now();

  await deliver(ctx, 'customer.subscription.updated', canceling, { created: now + 10 });
  await settled(ctx);
  t.match(await subscriptionOf(ctx, 'acct_org'), { cancelAtPeriodEnd: true });
  await deliver(ctx, 'customer.subscription.updated', before, { created: now + 5 });
  await deliver(ctx, 'customer.subscription.created', before, { created: now - 5 });
  await settled(ctx);
  t.match(await subscriptionOf(ctx, 'acct_org'), { cancelAtPeriodEnd: true }, 'older events did not undo the cancellation');

  // Same second as the state Tally holds: which came first is unknown, so Tally fetches Stripe's.
  const resumed = await ctx.stripe.subscriptions.update(subscriptionId, { cancel_at_period_end: false });
  await deliver(ctx, 'customer.subscription.updated', canceling, { created: now + 10 });
  await settled(ctx);
  t.match(await subscriptionOf(ctx, 'acct_org'), { cancelAtPeriodEnd: false }, "a tie follows Stripe's current state, not the payload");
  t.equal(resumed.cancel_at_period_end, false);
  const again = await ctx.stripe.subscriptions.update(subscriptionId, { cancel_at_period_end: true });
  await deliver(ctx, 'customer.subscription.updated', again, { created: now + 20 });
  await settled(ctx);
  t.match(await subscriptionOf(ctx, 'acct_org'), { cancelAtPeriodEnd: true }, 'a newer event applies');
});

t.test("a plan's currency changed (PATCH): its subscribers, still billed in the old currency, change plan within that currency", async (t) => {
  const ctx = await build(t, { listen: true });
  const { basic, pro } = await basicAndPro(ctx);
  const { subscriptionId } = await subscribe(ctx, 'acct_org', basic.id);
  await settled(ctx);
  t.equal((await ctx.call('PATCH', `/v1/plans/${basic.id}`, { currency: 'eur', unitAmount: 1000 })).status, 200);
  const euroPro = await createPlan(ctx, { name: 'Euro Pro', credits: 5000, unitAmount: 3000, currency: 'eur' });

  const toEuro = await ctx.call('POST', `/v1/subscriptions/${subscriptionId}/change`, { planId: euroPro.id });
  t.equal(toEuro.status, 400, 'a USD subscription cannot take a EUR price');
  t.equal(toEuro.body?.error?.code, 'currency_mismatch');
  t.equal((await ctx.stripe.subscriptions.retrieve(subscriptionId)).items.data[0]!.price.currency, 'usd', 'Stripe was not asked to change it');

  const toPro = await ctx.call('POST', `/v1/subscriptions/${subscriptionId}/change`, { planId: pro.id });
  t.equal(toPro.status, 200, 'a USD subscription moves to a USD plan');
  await settled(ctx);
  t.same((await grantsOf(ctx, 'acct_org')).map((g) => g.amount), [1000, 4000], 'topped up to Pro');
});

t.test("a plan's interval changed (PATCH): a move to fewer credits at the interval the subscriber is billed at is a downgrade", async (t) => {
  const ctx = await build(t, { listen: true });
  const { basic, pro } = await basicAndPro(ctx);
  const { subscriptionId } = await subscribe(ctx, 'acct_org', pro.id);
  await settled(ctx);
  t.equal((await ctx.call('PATCH', `/v1/plans/${pro.id}`, { interval: 'year' })).status, 200);
  const sent: Stripe.SubscriptionUpdateParams[] = [];
  const update = ctx.stripe.subscriptions.update.bind(ctx.stripe.subscriptions);
  ctx.stripe.subscriptions.update = (id: string, params?: Stripe.SubscriptionUpdateParams, options?: Stripe.RequestOptions) => (sent.push(params!), update(id, params, options));

  const downgraded = await ctx.call('POST', `/v1/subscriptions/${subscriptionId}/change`, { planId: basic.id });
  t.match(downgraded.body, { planId: basic.id, currentPeriodCredits: 5000, nextGrant: { credits: 1000 } }, 'the current period keeps its credits');
  t.same(sent.map((params) => params.proration_behavior), ['none'], 'without proration: the subscriber is still billed monthly');
});
