import t from 'tap';
import { build } from '../helper.js';
import { accountAndPlan, advancePastPeriodEnd, basicAndPro, grantsOf, settled, subscribe, subscriptionOf } from './fixtures.js';

// A merchant's portal set to "downgrade at period end", or a schedule made in the Dashboard, puts a
// subscription under a subscription schedule; Stripe then refuses to change its cancellation directly.

t.test('a subscription under a schedule: cancel at period end releases the schedule, then cancels', async (t) => {
  const ctx = await build(t, { listen: true });
  const { plan } = await accountAndPlan(ctx, 'acct_org', { credits: 1000 });
  const { subscriptionId } = await subscribe(ctx, 'acct_org', plan.id);
  await settled(ctx);
  const schedule = await ctx.stripe.subscriptionSchedules.create({ from_subscription: subscriptionId });
  await t.rejects(
    ctx.stripe.subscriptions.update(subscriptionId, { cancel_at_period_end: true }),
    { message: /managed by the subscription schedule .*not allowed/ },
    'as Stripe does, the simulator refuses to change the cancellation of a scheduled subscription',
  );

  const [first, second] = await Promise.all([
    ctx.call('POST', `/v1/subscriptions/${subscriptionId}/cancel`, { atPeriodEnd: true }, { key: ctx.serviceKey }),
    ctx.call('POST', `/v1/subscriptions/${subscriptionId}/cancel`, { atPeriodEnd: true }, { key: ctx.serviceKey }),
  ]);
  t.equal(first.status, 200, `canceled through Tally: ${JSON.stringify(first.body)}`);
  t.equal(second.status, 200, `and a second request at the same moment too: ${JSON.stringify(second.body)}`);
  t.match(first.body, { status: 'active', cancelAtPeriodEnd: true, nextGrant: null });
  const atStripe = await ctx.stripe.subscriptions.retrieve(subscriptionId);
  t.equal(atStripe.cancel_at_period_end, true, 'Stripe cancels it at period end');
  t.equal(atStripe.schedule, null, 'free of the schedule');
  t.match(await ctx.stripe.subscriptionSchedules.retrieve(schedule.id), { status: 'released', released_subscription: subscriptionId });

  await advancePastPeriodEnd(ctx, subscriptionId);
  await settled(ctx);
  t.match(await subscriptionOf(ctx, 'acct_org'), { status: 'canceled', live: false });
  t.equal((await grantsOf(ctx, 'acct_org')).length, 1, 'the paid period kept its credits, and nothing came after');
});

t.test('a subscription under a schedule: a plan change releases the schedule, so that its next phase does not undo the change', async (t) => {
  const ctx = await build(t, { listen: true });
  const { basic, pro } = await basicAndPro(ctx);
  const { subscriptionId } = await subscribe(ctx, 'acct_org', basic.id);
  await settled(ctx);
  const schedule = await ctx.stripe.subscriptionSchedules.create({ from_subscription: subscriptionId });

  const upgraded = await ctx.call('POST', `/v1/subscriptions/${subscriptionId}/change`, { planId: pro.id }, { key: ctx.serviceKey });
  t.equal(upgraded.status, 200, JSON.stringify(upgraded.body));
  t.match(upgraded.body, { planId: pro.id });
  const atStripe = await ctx.stripe.subscriptions.retrieve(subscriptionId);
  t.equal(atStripe.items.data[0].price.id, pro.stripePriceId, 'Stripe bills the new plan');
  t.equal(atStripe.schedule, null, 'and no schedule will set the old one back');
  t.match(await ctx.stripe.subscriptionSchedules.retrieve(schedule.id), { status: 'released' });
  await settled(ctx);
  t.equal((await grantsOf(ctx, 'acct_org')).reduce((sum, g) => sum + g.amount, 0), 5000, 'the period is raised to the new plan\'s credits');

  const again = await ctx.call('POST', `/v1/subscriptions/${subscriptionId}/cancel`, { atPeriodEnd: true }, { key: ctx.serviceKey });
  t.equal(again.status, 200, 'a later cancel finds no schedule and needs none released');
});
