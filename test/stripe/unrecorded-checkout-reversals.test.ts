import t, { type Test } from 'tap';
import { reconcileRefunds } from '../../src/domain/checkout/reconcile-refunds.js';
import { build, ledgerSum, signedEvent, type TestApp } from '../helper.js';
import { handled } from '../subscriptions/fixtures.js';
import { accountAndPack, grantsOf, openCheckout, postEvent } from './fixtures.js';

// A refund or dispute heard of before its checkout's payment fulfils the checkout first (README,
// Refunds and disputes), also when Tally has no row of the checkout: it stopped, or its database
// failed, between Stripe's answer and its own write, or the database was restored from a backup.
// Simulated by deleting the rows right after the create. The app does not listen: events are posted
// by hand, in the order chosen here.

const available = async (ctx: TestApp, accountId: string) => (await ctx.call('GET', `/v1/accounts/${accountId}/balance`)).body.available;

async function chargeOf(ctx: TestApp, paymentIntent: string) {
  return (await ctx.stripe.charges.list({ payment_intent: paymentIntent })).data[0]!;
}

/** Posts a signed event of `type` about `object`, and waits until it is handled. */
async function heardOf(t: Test, ctx: TestApp, type: string, object: unknown, id?: string) {
  t.equal((await postEvent(ctx, signedEvent(ctx.stripe, type, object, { id }))).statusCode, 200, `${type} acknowledged`);
  await handled(ctx);
}

/** A pack checkout Stripe made and the buyer paid, of which Tally has no row. */
async function unrecordedPaidSession(ctx: TestApp) {
  const { pack } = await accountAndPack(ctx);
  const checkout = await openCheckout(ctx, 'acct_buyer', pack.id);
  await ctx.database.pool.query('DELETE FROM checkouts WHERE id = $1', [checkout.id]);
  await ctx.simulator.pay(checkout.id);
  return ctx.stripe.checkout.sessions.retrieve(checkout.id);
}

t.test('a full refund heard of before checkout.session.completed takes the credits back', async (t) => {
  const ctx = await build(t);
  const session = await unrecordedPaidSession(ctx);
  await ctx.stripe.refunds.create({ payment_intent: session.payment_intent as string });
  const charge = await chargeOf(ctx, session.payment_intent as string);
  await heardOf(t, ctx, 'charge.refunded', charge);
  // The refund reconciler's pass, which would catch a lost refund, comes before the late webhook too.
  await reconcileRefunds({ pool: ctx.database.pool, stripe: ctx.stripe, reversals: ctx.app.reversals, logger: ctx.app.log }, { olderThanSeconds: 0, batch: 50 });

  await heardOf(t, ctx, 'checkout.session.completed', session);
  t.equal((await grantsOf(ctx, 'acct_buyer')).length, 1, 'the paid session is granted once');
  t.equal(await available(ctx, 'acct_buyer'), 0, 'refunded in full: no credits remain');
  t.equal(Number((await ledgerSum(ctx.database, 'acct_buyer')).available), 0);
});

t.test('a dispute whose funds were withdrawn before checkout.session.completed takes the credits', async (t) => {
  const ctx = await build(t);
  const session = await unrecordedPaidSession(ctx);
  const disputeId = await ctx.simulator.openDispute((await chargeOf(ctx, session.payment_intent as string)).id);
  const dispute = await ctx.stripe.disputes.retrieve(disputeId);
  await heardOf(t, ctx, 'charge.dispute.funds_withdrawn', dispute);
  await heardOf(t, ctx, 'checkout.session.completed', session);
  t.equal(await available(ctx, 'acct_buyer'), 0, 'the bank withdrew the money: no credits while it is argued');
});

t.test('a bill whose checkout and bill rows are gone: a refund heard of first still takes the credits', async (t) => {
  const ctx = await build(t);
  await ctx.call('PUT', '/v1/accounts/acct_org', { email: 'org@example.com', name: 'Org' });
  const bill = await ctx.call('POST', '/v1/bills', { accountId: 'acct_org', name: 'Audit', amount: 10_000, currency: 'usd', credits: 1000 }, { key: ctx.serviceKey });
  t.equal(bill.status, 201);
  const sessionId = bill.body.checkoutSessionId as string;
  await ctx.database.pool.query('DELETE FROM checkouts WHERE id = $1', [sessionId]);
  await ctx.database.pool.query('DELETE FROM bills WHERE id = $1', [bill.body.id]);
  await ctx.simulator.pay(sessionId);
  const paid = await ctx.stripe.checkout.sessions.retrieve(sessionId);
  await ctx.stripe.refunds.create({ payment_intent: paid.payment_intent as string });
  const charge = await chargeOf(ctx, paid.payment_intent as string);
  await heardOf(t, ctx, 'charge.refunded', charge);
  await heardOf(t, ctx, 'checkout.session.completed', paid);
  t.equal(await available(ctx, 'acct_org'), 0, 'refunded in full: no credits remain');
});

t.test("a refund of another Tally's session Tally never recorded writes nothing", async (t) => {
  const ctx = await build(t);
  const { pack } = await accountAndPack(ctx);
  const session = await ctx.stripe.checkout.sessions.create({
    mode: 'payment',
    line_items: [{ price: pack.stripePriceId, quantity: 1 }],
    success_url: 'https://example.com/ok',
    metadata: { tally_account_id: 'acct_buyer', tally_kind: 'pack', tally_pack_id: pack.id, tally_credits: '500', tally_quantity: '1', tally_instance: 'another_tally' },
  });
  await ctx.simulator.pay(session.id);
  const paid = await ctx.stripe.checkout.sessions.retrieve(session.id);
  await ctx.stripe.refunds.create({ payment_intent: paid.payment_intent as string });
  await heardOf(t, ctx, 'charge.refunded', await chargeOf(ctx, paid.payment_intent as string), 'evt_foreign');
  t.equal((await ctx.database.pool.query("SELECT status FROM stripe_events WHERE id = 'evt_foreign'")).rows[0].status, 'processed');
  t.equal((await grantsOf(ctx, 'acct_buyer')).length, 0, 'nothing granted');
  t.equal((await ctx.database.pool.query('SELECT count(*)::int AS n FROM checkouts')).rows[0].n, 0, 'no checkout recorded');
});
