import t from 'tap';
import { reconcileEvents } from '../../src/stripe/reconcile-events.js';
import type { ReconcileOptions } from '../../src/stripe/reconciler.js';
import { withClockAhead } from '../clock-ahead.js';
import { build, eventually, type TestApp } from '../helper.js';
import { settled } from '../subscriptions/fixtures.js';
import { accountAndPack, openCheckout } from './fixtures.js';

/** One event pass, with the app's parts; events of any age unless told. */
function pass(ctx: TestApp, options: Partial<ReconcileOptions> = {}) {
  return reconcileEvents(
    { pool: ctx.database.pool, stripe: ctx.stripe, events: ctx.app.stripeEvents, logger: ctx.app.log },
    { olderThanSeconds: 0, batch: ctx.config.CHECKOUT_RECONCILE_BATCH, ...options },
  );
}

const available = async (ctx: TestApp, accountId: string) => (await ctx.call('GET', `/v1/accounts/${accountId}/balance`)).body.available;

async function adjustments(ctx: TestApp): Promise<number[]> {
  return (await ctx.database.pool.query("SELECT amount FROM ledger_entries WHERE kind = 'adjustment' ORDER BY id")).rows.map((r) => Number(r.amount));
}

async function processedEvents(ctx: TestApp, type: string): Promise<number> {
  return (await ctx.database.pool.query('SELECT count(*)::int AS n FROM stripe_events WHERE type = $1 AND status = $2', [type, 'processed'])).rows[0].n;
}

/** Packs of 500 credits for $5.00, paid and granted while Stripe's webhooks arrive: their charges. */
async function paidPacks(ctx: TestApp, count: number): Promise<string[]> {
  const { pack } = await accountAndPack(ctx);
  const charges: string[] = [];
  for (let i = 0; i < count; i++) {
    const checkout = await openCheckout(ctx, 'acct_buyer', pack.id);
    await ctx.simulator.pay(checkout.id);
    const session = await ctx.stripe.checkout.sessions.retrieve(checkout.id);
    charges.push((await ctx.stripe.charges.list({ payment_intent: session.payment_intent as string })).data[0]!.id);
  }
  await settled(ctx);
  return charges;
}

t.test('a dispute lost while the webhooks were down: a pass takes the credits back, once; the late webhook changes nothing', async (t) => {
  const ctx = await build(t, { listen: true });
  const [charge] = await paidPacks(ctx, 1);
  ctx.simulator.setWebhookUrl(undefined);
  const disputeId = await ctx.simulator.openDispute(charge!);
  await ctx.simulator.closeDispute(disputeId, false);
  t.equal(await available(ctx, 'acct_buyer'), 500, 'no webhook: nothing taken yet');

  t.same((await pass(ctx, { olderThanSeconds: 600 })).replayed, [], "an event younger than the webhook's head start waits");
  const first = await pass(ctx);
  t.same(
    await Promise.all(first.replayed.map(async (id) => (await ctx.stripe.events.retrieve(id)).type)),
    ['charge.dispute.funds_withdrawn', 'charge.dispute.closed'],
    'the withdrawal and the closing Stripe sent are caught up, oldest first (charge.dispute.created is not a type it reads)',
  );
  t.equal(await available(ctx, 'acct_buyer'), 0);
  t.same(await adjustments(ctx), [-500]);
  t.ok(ctx.logs.some((line) => line.includes('caught up a Stripe event whose webhook never came')));
  t.same((await pass(ctx)).replayed, [], 'the next pass finds it stored');

  ctx.simulator.setWebhookUrl(`${ctx.url}/v1/webhooks/stripe`);
  await settled(ctx);
  t.equal(await processedEvents(ctx, 'charge.dispute.closed'), 1, 'the late webhooks are redeliveries of stored events');
  t.equal(await processedEvents(ctx, 'charge.dispute.funds_withdrawn'), 1);
  t.same(await adjustments(ctx), [-500]);
  t.equal(await available(ctx, 'acct_buyer'), 0);
});

t.test('a refund that failed while the webhooks were down gives its credits back on the next pass', async (t) => {
  const ctx = await build(t, { listen: true });
  const [charge] = await paidPacks(ctx, 1);
  const refund = await ctx.stripe.refunds.create({ charge: charge! });
  await settled(ctx);
  t.equal(await available(ctx, 'acct_buyer'), 0);
  ctx.simulator.setWebhookUrl(undefined);
  await ctx.simulator.failRefund(refund.id);

  t.same((await pass(ctx)).replayed.length, 1, 'refund.failed caught up');
  t.equal(await available(ctx, 'acct_buyer'), 500);
  t.same(await adjustments(ctx), [-500, 500]);
  t.same((await pass(ctx)).replayed, []);
});

t.test('a pass takes at most a batch of events, oldest first; the next pass goes on from there', async (t) => {
  const ctx = await build(t, { listen: true });
  const charges = await paidPacks(ctx, 3);
  ctx.simulator.setWebhookUrl(undefined);
  const disputes = [];
  for (const charge of charges) {
    const disputeId = await ctx.simulator.openDispute(charge);
    await ctx.simulator.closeDispute(disputeId, false);
    disputes.push(disputeId);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // each in a second of its own
  }
  const disputeOf = async (eventId: string) => ((await ctx.stripe.events.retrieve(eventId)).data.object as { id: string }).id;

  // Each dispute sent two events of the types read: its withdrawal and its closing.
  const first = await pass(ctx, { batch: 3 });
  t.same(await Promise.all(first.replayed.map(disputeOf)), [disputes[0], disputes[0], disputes[1]], 'the three oldest first');
  t.equal(await available(ctx, 'acct_buyer'), 500);
  const second = await pass(ctx, { batch: 3 });
  t.same(await Promise.all(second.replayed.map(disputeOf)), [disputes[1], disputes[2], disputes[2]], 'then the rest');
  t.equal(await available(ctx, 'acct_buyer'), 0);
  t.same(await adjustments(ctx), [-500, -500, -500]);
});

t.test('a pass that cannot list the events fails before its cursor moves; the next pass takes them up', async (t) => {
  const ctx = await build(t, { listen: true });
  const [charge] = await paidPacks(ctx, 1);
  ctx.simulator.setWebhookUrl(undefined);
  await ctx.simulator.closeDispute(await ctx.simulator.openDispute(charge!), false);
  ctx.simulator.failNext({ method: 'GET', path: '/v1/events' });
  await t.rejects(pass(ctx), { code: 'stripe_error', message: /list the events Stripe sent/ }, 'the pass fails on the failed list');
  t.equal(await available(ctx, 'acct_buyer'), 500);
  t.equal((await pass(ctx)).replayed.length, 2);
  t.equal(await available(ctx, 'acct_buyer'), 0);
});

t.test('the app runs event passes on the reconciler timer', async (t) => {
  const ctx = await build(t, { listen: true, env: { CHECKOUT_RECONCILE_INTERVAL_MS: '100', CHECKOUT_RECONCILE_AFTER_SECONDS: '0' } });
  const [charge] = await paidPacks(ctx, 1);
  ctx.simulator.setWebhookUrl(undefined);
  await ctx.simulator.closeDispute(await ctx.simulator.openDispute(charge!), false);
  await eventually(async () => (await available(ctx, 'acct_buyer')) === 0);
  t.same(await adjustments(ctx), [-500]);
});

t.test("a pass run while Tally's clock read an hour ahead does not carry the cursor past events Stripe had not sent yet", async (t) => {
  const ctx = await build(t, { listen: true });
  const [charge] = await paidPacks(ctx, 1);
  ctx.simulator.setWebhookUrl(undefined);
  t.same((await withClockAhead(3600, () => pass(ctx, { olderThanSeconds: 600 }))).replayed, [], 'no dispute yet');
  await ctx.simulator.closeDispute(await ctx.simulator.openDispute(charge!), false);
  t.ok((await pass(ctx)).replayed.length > 0, "the clock put right, the next pass finds the dispute's events");
  t.equal(await available(ctx, 'acct_buyer'), 0, 'and takes the credits back');
});
