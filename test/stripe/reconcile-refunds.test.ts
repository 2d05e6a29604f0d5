import t from 'tap';
import { reconcileRefunds } from '../../src/domain/checkout/reconcile-refunds.js';
import type { ReconcileOptions } from '../../src/stripe/reconciler.js';
import { withClockAhead } from '../clock-ahead.js';
import { build, eventually, type TestApp } from '../helper.js';
import { settled } from '../subscriptions/fixtures.js';
import { accountAndPack, openCheckout } from './fixtures.js';

/** One refund pass, with the app's parts; refunds of any age unless told. */
function pass(ctx: TestApp, options: Partial<ReconcileOptions> = {}) {
  return reconcileRefunds(
    { pool: ctx.database.pool, stripe: ctx.stripe, reversals: ctx.app.reversals, logger: ctx.app.log },
    { olderThanSeconds: 0, batch: ctx.config.CHECKOUT_RECONCILE_BATCH, ...options },
  );
}

const available = async (ctx: TestApp, accountId: string) => (await ctx.call('GET', `/v1/accounts/${accountId}/balance`)).body.available;

async function adjustmentCount(ctx: TestApp): Promise<number> {
  return (await ctx.database.pool.query("SELECT count(*)::int AS n FROM ledger_entries WHERE kind = 'adjustment'")).rows[0].n;
}

/** A pack of 500 credits for $5.00, paid and granted, then Stripe's webhooks cut off. */
async function paidPackThenNoWebhooks(ctx: TestApp) {
  const { pack } = await accountAndPack(ctx);
  const checkout = await openCheckout(ctx, 'acct_buyer', pack.id);
  await ctx.simulator.pay(checkout.id);
  await settled(ctx);
  ctx.simulator.setWebhookUrl(undefined);
  const session = await ctx.stripe.checkout.sessions.retrieve(checkout.id);
  return session.payment_intent as string;
}

t.test('a refund whose webhook was lost: a pass takes the credits back, once; later passes start where it stopped', async (t) => {
  const ctx = await build(t, { listen: true });
  const paymentIntent = await paidPackThenNoWebhooks(ctx);
  t.equal(await available(ctx, 'acct_buyer'), 500);

  await ctx.stripe.refunds.create({ payment_intent: paymentIntent, amount: 200 });
  t.same((await pass(ctx, { olderThanSeconds: 600 })).charges, [], 'a refund younger than the webhook\'s head start waits');
  t.equal(await available(ctx, 'acct_buyer'), 500);

  const first = await pass(ctx);
  t.equal(first.charges.length, 1, 'the first pass looks back, and finds it');
  t.equal(await available(ctx, 'acct_buyer'), 300);
  await pass(ctx);
  t.equal(await available(ctx, 'acct_buyer'), 300, 'the next pass takes nothing more');
  t.equal(await adjustmentCount(ctx), 1);

  await new Promise((resolve) => setTimeout(resolve, 2100)); // seconds later: the first refund is behind the cursor
  await ctx.stripe.refunds.create({ payment_intent: paymentIntent, amount: 100 });
  t.equal((await pass(ctx)).charges.length, 1);
  t.equal(await available(ctx, 'acct_buyer'), 200);
  t.equal(await adjustmentCount(ctx), 2, 'one entry per refund');

  ctx.simulator.setWebhookUrl(`${ctx.url}/v1/webhooks/stripe`);
  await settled(ctx);
  const { rows } = await ctx.database.pool.query("SELECT count(*)::int AS n FROM stripe_events WHERE type = 'charge.refunded' AND status = 'processed'");
  t.equal(rows[0].n, 2, 'the late webhooks are handled');
  t.equal(await available(ctx, 'acct_buyer'), 200, 'and take nothing more');
  t.equal(await adjustmentCount(ctx), 2);
});

t.test('a pass that cannot reach Stripe about a charge stops there; the next pass takes it up', async (t) => {
  const ctx = await build(t, { listen: true });
  const paymentIntent = await paidPackThenNoWebhooks(ctx);
  await ctx.stripe.refunds.create({ payment_intent: paymentIntent });
  ctx.simulator.failNext({ method: 'GET', path: '/v1/charges/' });
  const failed = await pass(ctx);
  t.ok(failed.failed, 'the pass reports the charge it could not handle');
  t.equal(await available(ctx, 'acct_buyer'), 500);
  t.ok(ctx.logs.some((line) => line.includes('could not reconcile a refund')), 'and logs it');

  t.equal((await pass(ctx)).charges.length, 1);
  t.equal(await available(ctx, 'acct_buyer'), 0);
});

t.test('a pass takes at most a batch of charges, oldest first; the next pass goes on from there', async (t) => {
  const ctx = await build(t, { listen: true });
  const { pack } = await accountAndPack(ctx);
  const paymentIntents: string[] = [];
  for (let i = 0; i < 2; i++) {
    const checkout = await openCheckout(ctx, 'acct_buyer', pack.id);
    await ctx.simulator.pay(checkout.id);
    paymentIntents.push((await ctx.stripe.checkout.sessions.retrieve(checkout.id)).payment_intent as string);
  }
  await settled(ctx);
  ctx.simulator.setWebhookUrl(undefined);
  t.equal(await available(ctx, 'acct_buyer'), 1000);
  const charges = [];
  for (const paymentIntent of paymentIntents) {
    const refund = await ctx.stripe.refunds.create({ payment_intent: paymentIntent });
    charges.push(refund.charge);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // each refund in a second of its own
  }

  t.same((await pass(ctx, { batch: 1 })).charges, [charges[0]], 'the older refund first');
  t.equal(await available(ctx, 'acct_buyer'), 500);
  t.same((await pass(ctx, { batch: 1 })).charges, [charges[1]], 'then the next one');
  t.equal(await available(ctx, 'acct_buyer'), 0);
  t.equal(await adjustmentCount(ctx), 2);
});

t.test('the app runs refund passes on the reconciler timer', async (t) => {
  const ctx = await build(t, { listen: true, env: { CHECKOUT_RECONCILE_INTERVAL_MS: '100', CHECKOUT_RECONCILE_AFTER_SECONDS: '0' } });
  const paymentIntent = await paidPackThenNoWebhooks(ctx);
  await ctx.stripe.refunds.create({ payment_intent: paymentIntent });
  await eventually(async () => (await available(ctx, 'acct_buyer')) === 0);
  t.equal(await adjustmentCount(ctx), 1);
});

t.test('a pass stopped by a closing Tally leaves the refunds it did not reach to the next pass', async (t) => {
  const ctx = await build(t, { listen: true });
  const paymentIntent = await paidPackThenNoWebhooks(ctx);
  await ctx.stripe.refunds.create({ payment_intent: paymentIntent, amount: 200 });
  const stopping = new AbortController();
  stopping.abort();
  t.same((await pass(ctx, { stopping: stopping.signal })).charges, [], 'stopped before the first charge');
  t.equal(await available(ctx, 'acct_buyer'), 500);
  t.equal((await pass(ctx)).charges.length, 1, 'the next pass finds the refund');
  t.equal(await available(ctx, 'acct_buyer'), 300);
});

t.test("a pass run while Tally's clock read an hour ahead does not carry the cursor past refunds Stripe had not made yet", async (t) => {
  const ctx = await build(t, { listen: true });
  const paymentIntent = await paidPackThenNoWebhooks(ctx);
  t.same((await withClockAhead(3600, () => pass(ctx, { olderThanSeconds: 600 }))).charges, [], 'no refund yet');
  await ctx.stripe.refunds.create({ payment_intent: paymentIntent, amount: 200 });
  t.equal((await pass(ctx)).charges.length, 1, 'the clock put right, the next pass finds the refund');
  t.equal(await available(ctx, 'acct_buyer'), 300);
});

t.test('a pass on the timer that Stripe rate-limits is a warning in the log, as a 503 is, not an error', async (t) => {
  const ctx = await build(t, { env: { CHECKOUT_RECONCILE_INTERVAL_MS: '100', CHECKOUT_RECONCILE_AFTER_SECONDS: '0' } });
  ctx.simulator.failNext({ method: 'GET', path: '/v1/refunds', status: 429, error: { type: 'rate_limit_error', message: 'Too many requests', code: 'rate_limit' } });
  const line = await eventually(async () => ctx.logs.map((l) => JSON.parse(l)).find((l) => /refund reconciliation/.test(l.msg)));
  t.match(line, { level: 40, code: 'stripe_rate_limited' }, 'a warning naming the code');
  t.notOk(line.err?.stack, 'without a stack');
  await eventually(async () => (await ctx.database.pool.query("SELECT 1 FROM reconciler_cursors WHERE name = 'refunds'")).rowCount === 1);
  t.pass('the next pass goes through');
});
