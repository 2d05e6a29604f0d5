import t from 'tap';
import type Stripe from 'stripe';
import { build, WEBHOOK_SECRET, type TestApp } from '../helper.js';
import { accountAndPlan, advancePastPeriodEnd, grantsOf, handled, subscribe, subscriptionOf } from './fixtures.js';

/**
 * A webhook endpoint renders its events in its own API version, or the account's default one, not the
 * SDK's (https://docs.stripe.com/webhooks/versioning). Before 2025-03-31.basil an invoice named its
 * subscription at the top (`invoice.subscription`, not `parent.subscription_details`), its lines their
 * price (`line.price`, not `pricing.price_details`), and a subscription had its period at the top, not
 * on its items. These are the shapes such an endpoint sends for the simulator's objects.
 */
const OLDER = '2025-02-24.acacia';

function asOlderInvoice(invoice: Stripe.Invoice): unknown {
  const subscription = invoice.parent?.subscription_details?.subscription;
  const { parent: _parent, ...rest } = invoice;
  return {
    ...rest,
    subscription,
    lines: {
      ...invoice.lines,
      data: invoice.lines.data.map(({ parent: _lineParent, pricing, ...line }) => ({
        ...line,
        type: 'subscription',
        subscription,
        proration: false,
        price: { id: pricing?.price_details?.price, object: 'price' },
      })),
    },
  };
}

function asOlderSubscription(subscription: Stripe.Subscription): unknown {
  const item = subscription.items.data[0]!;
  return {
    ...subscription,
    current_period_start: item.current_period_start,
    current_period_end: item.current_period_end,
    items: { ...subscription.items, data: subscription.items.data.map(({ current_period_start: _s, current_period_end: _e, ...rest }) => rest) },
  };
}

async function deliverAs(ctx: TestApp, apiVersion: string, type: string, object: unknown) {
  const payload = JSON.stringify({
    id: `evt_test_${Math.random().toString(36).slice(2)}`, object: 'event', api_version: apiVersion, created: ctx.simulator.now(),
    data: { object }, livemode: false, pending_webhooks: 1, request: { id: null, idempotency_key: null }, type,
  });
  const header = ctx.stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET });
  const reply = await ctx.app.inject({ method: 'POST', url: '/v1/webhooks/stripe', headers: { 'stripe-signature': header, 'content-type': 'application/json' }, payload });
  if (reply.statusCode !== 200) throw new Error(`webhook: ${reply.statusCode} ${reply.body}`);
}

t.test("a renewal delivered by a webhook endpoint on an older API version is granted, and the subscription's period follows", async (t) => {
  const ctx = await build(t);
  const { plan } = await accountAndPlan(ctx, 'acct_old', { credits: 1000 });
  const { checkout, subscriptionId } = await subscribe(ctx, 'acct_old', plan.id);
  t.equal((await ctx.call('POST', `/v1/checkout/sessions/${checkout.id}/sync`)).status, 200, 'the first period, through the API');
  t.equal((await grantsOf(ctx, 'acct_old')).length, 1);

  await advancePastPeriodEnd(ctx, subscriptionId);
  const renewed = await ctx.stripe.subscriptions.retrieve(subscriptionId);
  const invoices = (await ctx.stripe.invoices.list({ subscription: subscriptionId, status: 'paid', limit: 10 })).data.sort((a, b) => a.created - b.created);
  t.equal(invoices.length, 2, 'Stripe renewed and was paid');
  await deliverAs(ctx, OLDER, 'customer.subscription.updated', asOlderSubscription(renewed));
  await deliverAs(ctx, OLDER, 'invoice.paid', asOlderInvoice(invoices[1]!));
  await handled(ctx);

  const grants = await grantsOf(ctx, 'acct_old');
  t.same(grants.map((grant) => Number(grant.amount)), [1000, 1000], 'the renewal granted its period');
  const end = renewed.items.data[0]!.current_period_end;
  t.equal(grants[1]?.expires_at?.getTime(), end * 1000, 'expiring with the new period');
  t.match(await subscriptionOf(ctx, 'acct_old'), { status: 'active', currentPeriodEnd: new Date(end * 1000).toISOString(), currentPeriodCredits: 1000 }, 'the period recorded is the new one');
});
