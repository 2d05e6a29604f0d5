import t from 'tap';
import { build, type TestApp } from '../helper.js';
import { accountAndPlan, advancePastPeriodEnd, createPlan, grantsOf, settled, subscribe, subscriptionOf } from './fixtures.js';

const FAILS_LATER = '4000000000000341';

/** Submits a form on the simulator's portal page, as its buttons do. */
async function portalAction(ctx: TestApp, accountId: string, action: string, fields: Record<string, string>) {
  const portal = await ctx.call('POST', '/v1/portal/sessions', { accountId }, { key: ctx.serviceKey });
  if (portal.status !== 201) throw new Error(`portal: ${JSON.stringify(portal.body)}`);
  const response = await fetch(`${portal.body.url}/${action}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
  });
  return { status: response.status, page: portal.body.url as string };
}

t.test('a renewal that fails: past_due and no grant; canceled at period end in the portal: canceled, no more grants', async (t) => {
  const ctx = await build(t, { listen: true });
  const { plan } = await accountAndPlan(ctx, 'acct_org', { credits: 1000 });
  const { subscriptionId } = await subscribe(ctx, 'acct_org', plan.id, FAILS_LATER);
  await settled(ctx);
  t.equal((await grantsOf(ctx, 'acct_org')).length, 1, 'the first period is paid and granted');

  await advancePastPeriodEnd(ctx, subscriptionId);
  await settled(ctx);
  const pastDue = await subscriptionOf(ctx, 'acct_org');
  t.match(pastDue, { status: 'past_due', live: true, nextGrant: null }, 'the failed renewal makes it past_due');
  t.equal((await grantsOf(ctx, 'acct_org')).length, 1, 'no grant for the unpaid period');
  const failed = await ctx.database.pool.query("SELECT status FROM stripe_events WHERE type = 'invoice.payment_failed'");
  t.same(failed.rows, [{ status: 'processed' }]);

  const canceling = await portalAction(ctx, 'acct_org', 'cancel-subscription', { subscription: subscriptionId });
  t.equal(canceling.status, 303, 'the portal accepted the cancellation');
  await settled(ctx);
  t.match(await subscriptionOf(ctx, 'acct_org'), { cancelAtPeriodEnd: true });

  await advancePastPeriodEnd(ctx, subscriptionId);
  await settled(ctx);
  t.match(await subscriptionOf(ctx, 'acct_org'), { status: 'canceled', live: false, nextGrant: null });
  t.equal((await grantsOf(ctx, 'acct_org')).length, 1, 'still only the first grant');
});

t.test('cancel at period end through the API: the paid period keeps its credits, nothing after it', async (t) => {
  const ctx = await build(t, { listen: true });
  const { plan } = await accountAndPlan(ctx, 'acct_org', { credits: 1000 });
  const { subscriptionId } = await subscribe(ctx, 'acct_org', plan.id);
  await settled(ctx);
  const view = await subscriptionOf(ctx, 'acct_org');

  const reply = await ctx.call('POST', `/v1/subscriptions/${view.id}/cancel`, { atPeriodEnd: true }, { key: ctx.serviceKey });
  t.equal(reply.status, 200);
  t.match(reply.body, { status: 'active', cancelAtPeriodEnd: true, nextGrant: null }, 'the reply shows Stripe\'s answer');
  t.equal((await ctx.stripe.subscriptions.retrieve(subscriptionId)).cancel_at_period_end, true, 'Stripe was asked');
  await settled(ctx);
  t.match(await subscriptionOf(ctx, 'acct_org'), { cancelAtPeriodEnd: true }, 'the event agrees');

  await advancePastPeriodEnd(ctx, subscriptionId);
  await settled(ctx);
  t.match(await subscriptionOf(ctx, 'acct_org'), { status: 'canceled' });
  t.equal((await grantsOf(ctx, 'acct_org')).length, 1);

  const again = await ctx.call('POST', `/v1/subscriptions/${subscriptionId}/cancel`, {}, { key: ctx.serviceKey });
  t.equal(again.status, 409, 'a canceled subscription cannot be canceled again');
  t.equal(again.body.error.code, 'subscription_canceled');

  const next = await ctx.call('POST', '/v1/checkout/sessions', { accountId: 'acct_org', planId: plan.id }, { key: ctx.serviceKey });
  t.equal(next.status, 201, 'once canceled, the account may subscribe again');
});

t.test('cancel now through the API', async (t) => {
  const ctx = await build(t, { listen: true });
  const { plan } = await accountAndPlan(ctx, 'acct_org');
  const { subscriptionId } = await subscribe(ctx, 'acct_org', plan.id);
  await settled(ctx);
  const reply = await ctx.call('POST', `/v1/subscriptions/${subscriptionId}/cancel`, { atPeriodEnd: false });
  t.match(reply.body, { status: 'canceled', live: false });
  await settled(ctx);
  t.match(await subscriptionOf(ctx, 'acct_org'), { status: 'canceled' });
  t.equal((await ctx.call('POST', '/v1/subscriptions/sub_nope/cancel', {})).status, 404);
});

t.test('a subscription made under another Stripe key (test mode, then live): a change is a 409 naming it, a cancel ends it in Tally, and the account subscribes again', async (t) => {
  const testMode = await build(t, { listen: true });
  const { plan } = await accountAndPlan(testMode, 'acct_org');
  const pro = await createPlan(testMode, { name: 'Bigger', credits: 5000, unitAmount: 3000 });
  const { subscriptionId } = await subscribe(testMode, 'acct_org', plan.id);
  await settled(testMode);
  t.match(await subscriptionOf(testMode, 'acct_org'), { status: 'active', live: true });

  // The same database, with a Stripe account that has never seen any of it.
  const live = await build(t, { databaseUrl: testMode.databaseUrl, listen: true });
  const blocked = await live.call('POST', '/v1/checkout/sessions', { accountId: 'acct_org', planId: plan.id });
  t.equal(blocked.body.error?.code, 'subscription_exists', 'the old subscription still counts as live');
  const change = await live.call('POST', `/v1/subscriptions/${subscriptionId}/change`, { planId: pro.id });
  t.equal(change.status, 409, JSON.stringify(change.body));
  t.match(change.body.error, { code: 'stripe_subscription_missing', details: { stripeSubscriptionId: subscriptionId }, message: /cancel it/ });

  const canceled = await live.call('POST', `/v1/subscriptions/${subscriptionId}/cancel`, {});
  t.equal(canceled.status, 200, JSON.stringify(canceled.body));
  t.match(canceled.body, { status: 'canceled', live: false, cancelAtPeriodEnd: false, nextGrant: null });
  t.match(await subscriptionOf(live, 'acct_org'), { status: 'canceled', live: false });
  t.equal((await live.call('POST', `/v1/subscriptions/${subscriptionId}/cancel`, {})).status, 409, 'and it stays canceled');
  t.equal((await testMode.stripe.subscriptions.retrieve(subscriptionId)).status, 'active', 'the other Stripe account was not asked');
  t.equal((await grantsOf(live, 'acct_org')).length, 1, 'the period granted keeps its credits');

  const again = await subscribe(live, 'acct_org', plan.id);
  await settled(live);
  t.match(await subscriptionOf(live, 'acct_org'), { status: 'active', live: true, stripeSubscriptionId: again.subscriptionId }, 'subscribed again, on the live account');
  t.equal((await grantsOf(live, 'acct_org')).length, 2, 'and its first period is granted');
});
