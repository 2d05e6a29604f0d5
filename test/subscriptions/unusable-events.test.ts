import t from 'tap';
import { build } from '../helper.js';
import { firstOutcome } from '../stripe/fixtures.js';
import { accountAndPlan, deliver, grantsOf, settled, subscribe } from './fixtures.js';

// Events no retry can make succeed: processed as nothing to do, with a warning, not failed and
// retried (and counted in the failing backlog) for ever. What is transient (Stripe or the database
// away) still fails and is retried.

const unknownSubscriptionInvoice = (id: string, status: string) => ({
  id,
  object: 'invoice',
  status,
  parent: { type: 'subscription_details', subscription_details: { subscription: 'sub_unknown' } },
  lines: { object: 'list', data: [], has_more: false },
});

for (const [type, status] of [
  ['invoice.paid', 'paid'],
  ['invoice.payment_failed', 'open'],
] as const) {
  t.test(`${type} of a subscription Stripe does not know: processed as nothing to do, with a warning`, async (t) => {
    const ctx = await build(t);
    await accountAndPlan(ctx, 'acct_org');
    const eventId = `evt_${status}_unknown`;
    await deliver(ctx, type, unknownSubscriptionInvoice(`in_${status}_unknown`, status), { id: eventId });
    const outcome = await firstOutcome(ctx, eventId);
    t.match(outcome, { status: 'processed', attempts: 1, lastError: null }, 'processed, not failed');
    t.ok(outcome.warned, 'a warning names the event');
    t.ok(ctx.logs.some((line) => line.includes('sub_unknown') && line.includes('Stripe does not know')), 'and the subscription, and why');
    t.equal((await ctx.database.pool.query('SELECT count(*)::int AS n FROM subscriptions')).rows[0].n, 0, 'no subscription recorded');
    t.same(await grantsOf(ctx, 'acct_org'), [], 'nothing granted');
  });
}

t.test('invoice.paid without its lines, of an invoice Stripe does not know: processed as nothing to do, with a warning', async (t) => {
  const ctx = await build(t, { listen: true });
  const { plan } = await accountAndPlan(ctx, 'acct_org');
  const { invoiceId } = await subscribe(ctx, 'acct_org', plan.id);
  await settled(ctx);
  const before = await grantsOf(ctx, 'acct_org');
  const { lines: _lines, ...invoice } = await ctx.stripe.invoices.retrieve(invoiceId);
  await deliver(ctx, 'invoice.paid', { ...invoice, id: 'in_unknown' }, { id: 'evt_unknown_invoice' });
  const outcome = await firstOutcome(ctx, 'evt_unknown_invoice');
  t.match(outcome, { status: 'processed', attempts: 1, lastError: null }, 'processed, not failed');
  t.ok(outcome.warned && ctx.logs.some((line) => line.includes('in_unknown') && line.includes('Stripe does not know')), 'a warning names the invoice and why');
  t.same(await grantsOf(ctx, 'acct_org'), before, 'nothing more granted');
});

t.test('customer.subscription.updated whose subscription has no items: processed as nothing to do, the subscription left as it was', async (t) => {
  const ctx = await build(t, { listen: true });
  const { plan } = await accountAndPlan(ctx, 'acct_org');
  const { subscriptionId } = await subscribe(ctx, 'acct_org', plan.id);
  await settled(ctx);
  const before = (await ctx.database.pool.query('SELECT * FROM subscriptions')).rows;
  t.match(before, [{ stripe_subscription_id: subscriptionId, status: 'active' }], 'recorded active');
  const itemless = { id: subscriptionId, object: 'subscription', status: 'canceled', customer: before[0].stripe_customer_id, cancel_at_period_end: false, metadata: { tally_account_id: 'acct_org' } };
  await deliver(ctx, 'customer.subscription.updated', itemless, { id: 'evt_itemless', created: Math.floor(Date.now() / 1000) + 3600 });
  const outcome = await firstOutcome(ctx, 'evt_itemless');
  t.match(outcome, { status: 'processed', attempts: 1, lastError: null }, 'processed, not failed');
  t.ok(outcome.warned, 'a warning names the event');
  t.same((await ctx.database.pool.query('SELECT * FROM subscriptions')).rows, before, 'the subscription is left as it was');
});

t.test('customer.subscription.updated whose subscription has no customer: processed as nothing to do, the subscription left as it was', async (t) => {
  const ctx = await build(t, { listen: true });
  const { plan } = await accountAndPlan(ctx, 'acct_org');
  const { subscriptionId } = await subscribe(ctx, 'acct_org', plan.id);
  await settled(ctx);
  const before = (await ctx.database.pool.query('SELECT * FROM subscriptions')).rows;
  const fetched = await ctx.stripe.subscriptions.retrieve(subscriptionId);
  for (const [i, customer] of [null, '', { object: 'customer' }].entries()) {
    const eventId = `evt_customerless_${i}`;
    await deliver(ctx, 'customer.subscription.updated', { ...fetched, status: 'canceled', customer }, { id: eventId, created: Math.floor(Date.now() / 1000) + 3600 });
    const outcome = await firstOutcome(ctx, eventId);
    t.match(outcome, { status: 'processed', attempts: 1, lastError: null }, `customer ${JSON.stringify(customer)}: processed, not failed`);
    t.ok(outcome.warned && ctx.logs.some((line) => line.includes(subscriptionId) && line.includes('no customer')), 'a warning names the subscription and why');
  }
  t.same((await ctx.database.pool.query('SELECT * FROM subscriptions')).rows, before, 'the subscription is left as it was');
});

t.test('the same invoice while Stripe rate limits: failed and retried, then processed as nothing to do once Stripe answers', async (t) => {
  const ctx = await build(t);
  await accountAndPlan(ctx, 'acct_org');
  ctx.simulator.failNext({ method: 'GET', path: '/v1/subscriptions/sub_unknown', status: 429, error: { type: 'rate_limit_error', message: 'Too many requests' } });
  await deliver(ctx, 'invoice.paid', unknownSubscriptionInvoice('in_rate_limited', 'paid'), { id: 'evt_rate_limited' });
  const first = await firstOutcome(ctx, 'evt_rate_limited');
  t.match(first, { status: 'failed', attempts: 1, lastError: /rate limiting/ }, 'a transient failure still fails, to be retried');
  await settled(ctx);
  t.match(await firstOutcome(ctx, 'evt_rate_limited'), { status: 'processed', attempts: 2, warned: true }, 'the retry finds Stripe does not know it: processed');
});
