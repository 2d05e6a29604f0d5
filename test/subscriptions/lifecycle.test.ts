import t from 'tap';
import { build } from '../helper.js';
import { accountAndPlan, advancePastPeriodEnd, basicAndPro, DAY, deliver, grantsOf, settled, subscribe, subscriptionOf } from './fixtures.js';

// A subscription's credits follow what its invoices paid for, whatever else happens to its plan or
// at Stripe in the middle of a period.

const amounts = async (ctx: Awaited<ReturnType<typeof build>>) => (await grantsOf(ctx, 'acct_org')).map((g) => Number(g.amount));
const FAILS_LATER = '4000000000000341';

t.test("a plan's credits raised (PATCH) reach its subscribers at their next renewal, not the period already paid", async (t) => {
  const ctx = await build(t, { listen: true });
  const { plan } = await accountAndPlan(ctx, 'acct_org', { credits: 1000 });
  const { subscriptionId } = await subscribe(ctx, 'acct_org', plan.id);
  await settled(ctx);
  t.equal((await ctx.call('PATCH', `/v1/plans/${plan.id}`, { credits: 3000 })).status, 200, 'the plan now gives 3,000');
  // Every path that raises the current period for an upgrade: a reply to a cancel, and Stripe's event of it.
  t.equal((await ctx.call('POST', `/v1/subscriptions/${subscriptionId}/cancel`, { atPeriodEnd: true })).status, 200);
  await settled(ctx);
  t.same(await amounts(ctx), [1000], 'the paid period keeps what it was paid for: nothing granted without an invoice');
  t.equal((await ctx.call('POST', `/v1/subscriptions/${subscriptionId}/cancel`, { atPeriodEnd: false })).status, 200);
  await settled(ctx);
  t.same(await amounts(ctx), [1000], 'still');
});

t.test("a paid period keeps what it was granted when its invoice is handled again after a PATCH raised the plan's credits, in either order of the checkout and invoice.paid", async (t) => {
  for (const first of ['invoice.paid', 'checkout.session.completed'] as const) {
    const ctx = await build(t);
    const { plan } = await accountAndPlan(ctx, 'acct_org', { credits: 1000 });
    const { session, invoiceId } = await subscribe(ctx, 'acct_org', plan.id);
    const invoicePaid = async () => deliver(ctx, 'invoice.paid', await ctx.stripe.invoices.retrieve(invoiceId));
    const completed = async () => deliver(ctx, 'checkout.session.completed', session);
    await (first === 'invoice.paid' ? invoicePaid() : completed());
    await settled(ctx);
    t.same(await amounts(ctx), [1000], `${first} first: the period granted`);
    t.equal((await ctx.call('PATCH', `/v1/plans/${plan.id}`, { credits: 3000 })).status, 200);
    // The other event for the same first invoice, then the invoice under a new event id (a redelivery), then the success page's sync.
    await (first === 'invoice.paid' ? completed() : invoicePaid());
    await invoicePaid();
    t.ok((await ctx.call('POST', `/v1/checkout/sessions/${session.id}/sync`)).status < 500);
    await settled(ctx);
    t.same(await amounts(ctx), [1000], `${first} first: the paid period keeps 1,000; the raise reaches the next renewal`);
  }
});

t.test('down a plan and back up in one period: no proration charged, nothing granted (the period has those credits already)', async (t) => {
  const ctx = await build(t, { listen: true });
  const { basic, pro } = await basicAndPro(ctx);
  const { subscriptionId } = await subscribe(ctx, 'acct_org', pro.id);
  await settled(ctx);
  await ctx.simulator.advanceClock(5 * DAY);
  t.equal((await ctx.call('POST', `/v1/subscriptions/${subscriptionId}/change`, { planId: basic.id })).status, 200, 'down to Basic');
  await settled(ctx);
  const back = await ctx.call('POST', `/v1/subscriptions/${subscriptionId}/change`, { planId: pro.id });
  t.match(back, { status: 200, body: { planId: pro.id, currentPeriodCredits: 5000 } }, 'back to Pro');
  await settled(ctx);
  const invoices = (await ctx.stripe.invoices.list({ subscription: subscriptionId })).data;
  t.same(invoices.map((i) => i.amount_paid), [3000], 'only the first invoice: no proration for credits the period has');
  t.same(await amounts(ctx), [5000], 'nothing granted');
  await advancePastPeriodEnd(ctx, subscriptionId);
  await settled(ctx);
  t.same(await amounts(ctx), [5000, 5000], "the next period is Pro's, paid and granted");
});

t.test("a subscription that is past_due cannot change plan: a 409, nothing asked of Stripe", async (t) => {
  const ctx = await build(t, { listen: true });
  const { basic, pro } = await basicAndPro(ctx);
  const { subscriptionId } = await subscribe(ctx, 'acct_org', basic.id, FAILS_LATER);
  await settled(ctx);
  await advancePastPeriodEnd(ctx, subscriptionId);
  await settled(ctx);
  t.match(await subscriptionOf(ctx, 'acct_org'), { status: 'past_due' });
  const invoices = (await ctx.stripe.invoices.list({ subscription: subscriptionId })).data.length;
  const change = await ctx.call('POST', `/v1/subscriptions/${subscriptionId}/change`, { planId: pro.id });
  t.match(change, { status: 409, body: { error: { code: 'subscription_not_in_good_standing', details: { status: 'past_due' } } } });
  t.equal((await ctx.stripe.subscriptions.retrieve(subscriptionId)).items.data[0].price.id, basic.stripePriceId, 'the plan is unchanged at Stripe');
  t.equal((await ctx.stripe.invoices.list({ subscription: subscriptionId })).data.length, invoices, 'no invoice made');
});

t.test('a subscription canceled at Stripe before Tally heard of it: cancel and change are a 409 saying so, it is recorded canceled, and the account can subscribe again', async (t) => {
  const ctx = await build(t, { listen: true });
  const { basic, pro } = await basicAndPro(ctx);
  for (const request of ['change', 'cancel'] as const) {
    const { subscriptionId } = await subscribe(ctx, 'acct_org', basic.id);
    await settled(ctx);
    // Canceled in the Dashboard, its event not delivered yet.
    ctx.simulator.setWebhookUrl(undefined);
    await ctx.stripe.subscriptions.cancel(subscriptionId);
    t.match(await subscriptionOf(ctx, 'acct_org'), { status: 'active' }, `${request}: Tally has not heard`);
    const answer = request === 'change'
      ? await ctx.call('POST', `/v1/subscriptions/${subscriptionId}/change`, { planId: pro.id })
      : await ctx.call('POST', `/v1/subscriptions/${subscriptionId}/cancel`, { atPeriodEnd: true });
    t.match(answer, { status: 409, body: { error: { code: 'subscription_canceled', details: { status: 'canceled' } } } }, `${request}: a 409, not Stripe's refusal`);
    t.match(await subscriptionOf(ctx, 'acct_org'), { status: 'canceled', live: false }, `${request}: recorded canceled`);
    ctx.simulator.setWebhookUrl(`${ctx.url}/v1/webhooks/stripe`);
    const again = await ctx.call('POST', '/v1/checkout/sessions', { accountId: 'acct_org', planId: basic.id });
    t.equal(again.status, 201, `${request}: the account can subscribe again`);
    await ctx.stripe.checkout.sessions.expire(again.body.id);
    await settled(ctx);
  }
});

t.test("a plan's interval changed (PATCH): its monthly subscribers' next grant still expires a month after it, as the grant then does", async (t) => {
  const ctx = await build(t, { listen: true });
  const { plan } = await accountAndPlan(ctx, 'acct_org', { credits: 1000 });
  const { subscriptionId } = await subscribe(ctx, 'acct_org', plan.id);
  await settled(ctx);
  t.match(await ctx.call('PATCH', `/v1/plans/${plan.id}`, { interval: 'year' }), { status: 200, body: { interval: 'year' } }, 'new subscribers pay yearly');
  const promised = (await subscriptionOf(ctx, 'acct_org')).nextGrant;
  await advancePastPeriodEnd(ctx, subscriptionId);
  await settled(ctx);
  const renewal = (await grantsOf(ctx, 'acct_org'))[1];
  const period = (await ctx.stripe.subscriptions.retrieve(subscriptionId)).items.data[0]!;
  t.equal(period.current_period_end - period.current_period_start < 32 * DAY, true, 'the subscriber kept its monthly price');
  t.match(promised, { at: new Date(period.current_period_start * 1000).toISOString(), credits: 1000 });
  t.equal(promised.expiresAt, renewal.expires_at!.toISOString(), 'the next grant expires as promised: a month on, not a year');
});

t.test("a subscription started on a month's 31st: after a short month, its next grant still expires on the 31st, as Stripe's period then ends", async (t) => {
  const ctx = await build(t, { listen: true });
  const { plan } = await accountAndPlan(ctx, 'acct_org', { credits: 1000 });
  const now = new Date(ctx.simulator.now() * 1000);
  let day = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 31, 12));
  while (day.getUTCDate() !== 31 || day.getTime() <= now.getTime()) day = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth() + (day.getUTCDate() === 31 ? 1 : 0), 31, 12));
  await ctx.simulator.advanceClock(Math.floor(day.getTime() / 1000) - ctx.simulator.now());
  const { subscriptionId } = await subscribe(ctx, 'acct_org', plan.id);
  await settled(ctx);
  // Renewed until the current period ends in a short month (the 30th or before): at most twice.
  for (let renewals = 0; new Date((await subscriptionOf(ctx, 'acct_org')).currentPeriodEnd).getUTCDate() === 31 && renewals < 2; renewals++) {
    await advancePastPeriodEnd(ctx, subscriptionId);
    await settled(ctx);
  }
  const promised = (await subscriptionOf(ctx, 'acct_org')).nextGrant;
  t.not(new Date(promised.at).getUTCDate(), 31, `the current period ends in a short month (${promised.at})`);
  await advancePastPeriodEnd(ctx, subscriptionId);
  await settled(ctx);
  const renewal = (await grantsOf(ctx, 'acct_org')).at(-1)!;
  t.equal(promised.expiresAt, renewal.expires_at!.toISOString(), 'the next grant expires as promised, on the 31st again');
});
