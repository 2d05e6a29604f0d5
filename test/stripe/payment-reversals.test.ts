import t from 'tap';
import { creditShares } from '../../src/domain/checkout/payment-reversals.js';
import { account, createBill } from '../bills/fixtures.js';
import { build, key, ledgerSum, signedEvent, type TestApp } from '../helper.js';
import { accountAndPlan, advancePastPeriodEnd, handled, settled, subscribe } from '../subscriptions/fixtures.js';
import { accountAndPack, grantsOf, openCheckout, paidPack, postEvent } from './fixtures.js';

const available = async (ctx: TestApp, accountId: string) => (await ctx.call('GET', `/v1/accounts/${accountId}/balance`)).body.available;

/** The ledger's adjustment entries of an account: what refunds and disputes took back. */
async function adjustments(ctx: TestApp, accountId: string) {
  const { rows } = await ctx.database.pool.query("SELECT amount, metadata FROM ledger_entries WHERE account_id = $1 AND kind = 'adjustment' ORDER BY id", [accountId]);
  return rows.map((row) => ({ amount: Number(row.amount), requested: row.metadata.requested, key: row.metadata.revocationKey as string }));
}

/** A pack of `credits` for `unitAmount` cents, made for the test, bought and paid by card, its webhooks delivered: the payment intent. */
async function paidOffer(ctx: TestApp, credits: number, unitAmount: number): Promise<string> {
  await ctx.call('PUT', '/v1/accounts/acct_buyer', {});
  const pack = await ctx.call('POST', '/v1/packs', { name: `${credits} for ${unitAmount}`, credits, unitAmount, currency: 'usd' }, { 'idempotency-key': key('pack') });
  const checkout = await openCheckout(ctx, 'acct_buyer', pack.body.id);
  await ctx.simulator.pay(checkout.id);
  await settled(ctx);
  return (await ctx.stripe.checkout.sessions.retrieve(checkout.id)).payment_intent as string;
}

t.test("refunds, partial then the rest, take back their share of the pack's credits, each once; refund.updated of a refund that went through gives nothing back", async (t) => {
  const ctx = await build(t, { listen: true });
  const { paymentIntent, charge } = await paidPack(ctx);
  t.equal(await available(ctx, 'acct_buyer'), 500);

  const first = await ctx.stripe.refunds.create({ payment_intent: paymentIntent, amount: 200 });
  await settled(ctx);
  t.equal(await available(ctx, 'acct_buyer'), 300, '$2.00 of $5.00 refunded: 200 of the 500 credits taken back');

  const rest = await ctx.stripe.refunds.create({ charge: charge.id });
  await settled(ctx);
  t.equal(await available(ctx, 'acct_buyer'), 0, 'the rest refunded: every credit taken back');
  const [grant] = await grantsOf(ctx, 'acct_buyer');
  t.same(await adjustments(ctx, 'acct_buyer'), [
    { amount: -200, requested: 200, key: `refund:${first.id}:${grant.id}` },
    { amount: -300, requested: 300, key: `refund:${rest.id}:${grant.id}` },
  ], "one adjustment entry per refund, though the second event listed both refunds");

  // Stripe delivering the last event again, as a new event about the same charge, changes nothing.
  const latest = await ctx.stripe.charges.retrieve(charge.id);
  t.equal((await postEvent(ctx, signedEvent(ctx.stripe, 'charge.refunded', latest))).statusCode, 200);
  // Stripe sends refund.updated for any change of a refund (its metadata, say): a refund that went through gives nothing back.
  for (const refund of [first, rest]) {
    t.equal((await postEvent(ctx, signedEvent(ctx.stripe, 'refund.updated', await ctx.stripe.refunds.retrieve(refund.id)))).statusCode, 200);
  }
  await settled(ctx);
  t.equal((await adjustments(ctx, 'acct_buyer')).length, 2);
  t.equal(await available(ctx, 'acct_buyer'), 0);
  const sum = await ledgerSum(ctx.database, 'acct_buyer');
  t.equal(Number(sum.available), 0, 'the ledger sums to the balance');
  t.equal((await grantsOf(ctx, 'acct_buyer')).length, 1, 'the pack was granted once');
});

t.test('three partial refunds whose shares round: each takes its share in the order Stripe made them, and all three take every credit', async (t) => {
  const ctx = await build(t, { listen: true });
  const paymentIntent = await paidOffer(ctx, 1000, 300);
  for (let i = 0; i < 3; i++) {
    await ctx.stripe.refunds.create({ payment_intent: paymentIntent, amount: 100 });
    await settled(ctx);
  }
  t.same((await adjustments(ctx, 'acct_buyer')).map((a) => a.amount), [-333, -333, -334], '$1.00 of $3.00 each: the rounding falls to the last');
  t.equal(await available(ctx, 'acct_buyer'), 0, 'the whole payment refunded: every credit taken back');
});

t.test('a refund too small to take back a whole credit writes no adjustment; the rest of the payment takes every credit', async (t) => {
  const ctx = await build(t, { listen: true });
  const paymentIntent = await paidOffer(ctx, 100, 500);
  await ctx.stripe.refunds.create({ payment_intent: paymentIntent, amount: 1 });
  await settled(ctx);
  t.same(await adjustments(ctx, 'acct_buyer'), [], '1 cent of $5.00 is no credit of 100: nothing written');
  await ctx.stripe.refunds.create({ payment_intent: paymentIntent });
  await settled(ctx);
  t.same((await adjustments(ctx, 'acct_buyer')).map((a) => a.amount), [-100]);
  t.same(await ledgerSum(ctx.database, 'acct_buyer'), { available: 0, held: 0, entries: 2 }, 'the grant and one adjustment');
});

t.test('a pack paid with a promotion code: its refunds take back their share of what was charged, not of the price', async (t) => {
  const ctx = await build(t, { listen: true });
  const { pack } = await accountAndPack(ctx);
  const checkout = await openCheckout(ctx, 'acct_buyer', pack.id, { allowPromotionCodes: true });
  await ctx.simulator.payWithPromotionCode(checkout.id, 250); // a 50% code typed on Stripe's page: $2.50 charged
  await settled(ctx);
  t.equal(await available(ctx, 'acct_buyer'), 500, 'the whole pack granted');
  const session = await ctx.stripe.checkout.sessions.retrieve(checkout.id);
  t.match(session, { amount_subtotal: 500, amount_total: 250, total_details: { amount_discount: 250 } });
  const { rows } = await ctx.database.pool.query('SELECT amount_total, currency FROM checkouts WHERE id = $1', [checkout.id]);
  t.same(rows, [{ amount_total: 250, currency: 'usd' }], 'the checkout records what Stripe charged, not what it was opened for');

  const paymentIntent = session.payment_intent as string;
  await ctx.stripe.refunds.create({ payment_intent: paymentIntent, amount: 100 });
  await settled(ctx);
  t.equal(await available(ctx, 'acct_buyer'), 300, '$1.00 of the $2.50 charged refunded: 200 of the 500 credits taken back');
  await ctx.stripe.refunds.create({ payment_intent: paymentIntent });
  await settled(ctx);
  t.equal(await available(ctx, 'acct_buyer'), 0, 'all that was charged refunded: every credit taken back');
  t.match(await adjustments(ctx, 'acct_buyer'), [{ amount: -200, requested: 200 }, { amount: -300, requested: 300 }]);
});

t.test('credits already spent stay spent: a refund takes what is left, and says how many it asked for', async (t) => {
  const ctx = await build(t, { listen: true });
  const { paymentIntent } = await paidPack(ctx);
  t.equal((await ctx.call('POST', '/v1/accounts/acct_buyer/spend', { amount: 400 }, { 'idempotency-key': key(), key: ctx.serviceKey })).status, 200);

  await ctx.stripe.refunds.create({ payment_intent: paymentIntent });
  await settled(ctx);
  t.equal(await available(ctx, 'acct_buyer'), 0, 'never below zero');
  t.match(await adjustments(ctx, 'acct_buyer'), [{ amount: -100, requested: 500 }]);
  t.ok(ctx.logs.some((line) => line.includes('already spent or expired')), 'the shortfall is logged');
});

t.test('a dispute takes the credits back when the money is withdrawn; lost, they stay taken; won, they come back', async (t) => {
  const ctx = await build(t, { listen: true });
  const lost = await paidPack(ctx);
  await ctx.call('POST', '/v1/accounts/acct_buyer/spend', { amount: 100 }, { 'idempotency-key': key(), key: ctx.serviceKey });
  const disputeId = await ctx.simulator.openDispute(lost.charge.id);
  await settled(ctx);
  t.equal(await available(ctx, 'acct_buyer'), 0, 'the chargeback withdrew the money: the 400 credits left are taken at once');
  await ctx.simulator.closeDispute(disputeId, false);
  await settled(ctx);
  t.equal(await available(ctx, 'acct_buyer'), 0, 'lost: they stay taken, and nothing more is taken');
  t.match(await adjustments(ctx, 'acct_buyer'), [{ amount: -400, requested: 500, key: new RegExp(`^dispute:${disputeId}:grt_`) }]);

  const won = await paidPack(ctx);
  const wonDispute = await ctx.simulator.openDispute(won.charge.id);
  await settled(ctx);
  t.equal(await available(ctx, 'acct_buyer'), 0, 'the second pack is taken back while its dispute is open');
  await ctx.simulator.closeDispute(wonDispute, true);
  await settled(ctx);
  t.equal(await available(ctx, 'acct_buyer'), 500, 'won: the money came back, and so do the credits, once (funds_reinstated and closed both said so)');
  t.match((await adjustments(ctx, 'acct_buyer')).slice(1), [
    { amount: -500, key: new RegExp(`^dispute:${wonDispute}:grt_`) },
    { amount: 500, key: new RegExp(`^restore:dispute:${wonDispute}:grt_`) },
  ]);
  t.equal(Number((await ledgerSum(ctx.database, 'acct_buyer')).available), 500, 'the ledger sums to the balance');
});

t.test('a dispute heard of only when it closed, won, and its withdrawal after it: nothing is taken', async (t) => {
  const ctx = await build(t, { listen: true });
  const { charge } = await paidPack(ctx);
  ctx.simulator.setWebhookUrl(undefined);
  const disputeId = await ctx.simulator.openDispute(charge.id);
  await ctx.simulator.closeDispute(disputeId, true);
  const dispute = await ctx.stripe.disputes.retrieve(disputeId);
  t.equal((await postEvent(ctx, signedEvent(ctx.stripe, 'charge.dispute.closed', dispute))).statusCode, 200);
  await handled(ctx);
  t.equal((await postEvent(ctx, signedEvent(ctx.stripe, 'charge.dispute.funds_withdrawn', { ...dispute, status: 'needs_response' }))).statusCode, 200);
  await handled(ctx);
  t.equal(await available(ctx, 'acct_buyer'), 500);
  t.match(await adjustments(ctx, 'acct_buyer'), [{ amount: 0, key: new RegExp(`^restore:dispute:${disputeId}:grt_`) }], 'the restoration came first, for nothing, and the withdrawal took nothing after it');
});

t.test('a refund heard of before the payment: the checkout is fulfilled first, then taken back; the late webhook grants nothing', async (t) => {
  const ctx = await build(t); // not listening: Stripe's webhooks go nowhere until posted by hand
  const { pack } = await accountAndPack(ctx);
  const checkout = await openCheckout(ctx, 'acct_buyer', pack.id);
  await ctx.simulator.pay(checkout.id);
  const session = await ctx.stripe.checkout.sessions.retrieve(checkout.id);
  await ctx.stripe.refunds.create({ payment_intent: session.payment_intent as string });
  const charge = (await ctx.stripe.charges.list({ payment_intent: session.payment_intent as string })).data[0]!;

  t.equal((await postEvent(ctx, signedEvent(ctx.stripe, 'charge.refunded', charge))).statusCode, 200);
  await settled(ctx);
  t.equal(await available(ctx, 'acct_buyer'), 0);
  t.match((await ctx.call('GET', `/v1/checkout/sessions/${checkout.id}`)).body, { status: 'complete', fulfilled: true });

  t.equal((await postEvent(ctx, signedEvent(ctx.stripe, 'checkout.session.completed', session))).statusCode, 200);
  await settled(ctx);
  t.equal(await available(ctx, 'acct_buyer'), 0, 'the late checkout.session.completed finds it granted');
  t.equal((await grantsOf(ctx, 'acct_buyer')).length, 1);
  t.match(await adjustments(ctx, 'acct_buyer'), [{ amount: -500, requested: 500 }]);
});

t.test('a refund that fails gives back what it took, once; a later charge.refunded takes nothing again', async (t) => {
  const ctx = await build(t, { listen: true });
  const { paymentIntent, charge } = await paidPack(ctx);
  await ctx.call('POST', '/v1/accounts/acct_buyer/spend', { amount: 100 }, { 'idempotency-key': key(), key: ctx.serviceKey });
  const refund = await ctx.stripe.refunds.create({ payment_intent: paymentIntent });
  await settled(ctx);
  t.equal(await available(ctx, 'acct_buyer'), 0, 'refunded: the 400 left taken back');

  await ctx.simulator.failRefund(refund.id);
  await settled(ctx);
  t.equal((await ctx.stripe.refunds.retrieve(refund.id)).status, 'failed');
  t.equal(await available(ctx, 'acct_buyer'), 400, 'the refund failed: the 400 it took are back');
  const [grant] = await grantsOf(ctx, 'acct_buyer');
  t.same(await adjustments(ctx, 'acct_buyer'), [
    { amount: -400, requested: 500, key: `refund:${refund.id}:${grant.id}` },
    { amount: 400, requested: undefined, key: `restore:refund:${refund.id}:${grant.id}` },
  ]);

  // Stripe redelivering refund.failed, sending refund.updated, or charge.refunded again: nothing moves.
  const failed = await ctx.stripe.refunds.retrieve(refund.id);
  for (const type of ['refund.failed', 'refund.updated'] as const) t.equal((await postEvent(ctx, signedEvent(ctx.stripe, type, failed))).statusCode, 200);
  t.equal((await postEvent(ctx, signedEvent(ctx.stripe, 'charge.refunded', await ctx.stripe.charges.retrieve(charge.id)))).statusCode, 200);
  await settled(ctx);
  t.equal((await adjustments(ctx, 'acct_buyer')).length, 2);
  t.equal(await available(ctx, 'acct_buyer'), 400);
  t.equal(Number((await ledgerSum(ctx.database, 'acct_buyer')).available), 400, 'the ledger sums to the balance');
  t.ok(ctx.logs.some((line) => line.includes('gave back credits: refund failed')));
});

t.test('a refund whose failure is heard of before the refund itself takes nothing', async (t) => {
  const ctx = await build(t); // not listening: events are posted by hand, failure first
  const { pack } = await accountAndPack(ctx);
  const checkout = await openCheckout(ctx, 'acct_buyer', pack.id);
  await ctx.simulator.pay(checkout.id);
  const session = await ctx.stripe.checkout.sessions.retrieve(checkout.id);
  t.equal((await postEvent(ctx, signedEvent(ctx.stripe, 'checkout.session.completed', session))).statusCode, 200);
  await settled(ctx);
  const refund = await ctx.stripe.refunds.create({ payment_intent: session.payment_intent as string });
  const refundedCharge = (await ctx.stripe.charges.list({ payment_intent: session.payment_intent as string })).data[0]!;
  await ctx.simulator.failRefund(refund.id);

  t.equal((await postEvent(ctx, signedEvent(ctx.stripe, 'refund.failed', await ctx.stripe.refunds.retrieve(refund.id)))).statusCode, 200);
  await settled(ctx);
  // The charge as the refund left it, before the failure: it lists the refund, which is failed by now.
  t.equal((await postEvent(ctx, signedEvent(ctx.stripe, 'charge.refunded', refundedCharge))).statusCode, 200);
  await settled(ctx);
  t.equal(await available(ctx, 'acct_buyer'), 500, 'the credits never left');
  const [grant] = await grantsOf(ctx, 'acct_buyer');
  t.same(await adjustments(ctx, 'acct_buyer'), [{ amount: 0, requested: undefined, key: `restore:refund:${refund.id}:${grant.id}` }], 'the restoration is recorded, for nothing');
});

t.test("a refunded bill takes its credits back; a payment that is no checkout of Tally's is left alone", async (t) => {
  const ctx = await build(t, { listen: true });
  await account(ctx);
  const bill = await createBill(ctx, { name: 'Training', amount: 10_000, credits: 10 });
  await ctx.simulator.pay(bill.checkoutSessionId);
  await settled(ctx);
  t.equal(await available(ctx, 'acct_org'), 10);
  const session = await ctx.stripe.checkout.sessions.retrieve(bill.checkoutSessionId);
  await ctx.stripe.refunds.create({ payment_intent: session.payment_intent as string, amount: 5_000 });
  await settled(ctx);
  t.equal(await available(ctx, 'acct_org'), 5, 'half the bill refunded: half its credits');

  const stranger = { ...(await ctx.stripe.charges.list({ payment_intent: session.payment_intent as string })).data[0]!, id: 'ch_elsewhere', payment_intent: 'pi_elsewhere' };
  t.equal((await postEvent(ctx, signedEvent(ctx.stripe, 'charge.refunded', stranger))).statusCode, 200);
  await settled(ctx);
  t.equal(await available(ctx, 'acct_org'), 5);
  t.equal((await ctx.database.pool.query("SELECT count(*)::int AS n FROM stripe_events WHERE type = 'charge.refunded' AND status = 'processed'")).rows[0].n, 2);
});

t.test("a refunded subscription invoice takes back its own period's credits", async (t) => {
  const ctx = await build(t, { listen: true });
  const { plan } = await accountAndPlan(ctx); // 1,000 credits a month for $10, no rollover
  const { subscriptionId, invoiceId } = await subscribe(ctx, 'acct_org', plan.id);
  await settled(ctx);
  await advancePastPeriodEnd(ctx, subscriptionId);
  await settled(ctx);
  // The simulator's clock moved, not the database's: both periods' credits are live.
  t.equal(await available(ctx, 'acct_org'), 2000, "two periods' credits");

  const invoices = await ctx.stripe.invoices.list({ subscription: subscriptionId });
  const renewal = invoices.data.find((invoice) => invoice.id !== invoiceId)!;
  const [payment] = (await ctx.stripe.invoicePayments.list({ invoice: renewal.id })).data;
  const paymentIntent = payment!.payment.payment_intent as string;
  await ctx.stripe.refunds.create({ payment_intent: paymentIntent, amount: 250 });
  await settled(ctx);
  t.equal(await available(ctx, 'acct_org'), 1750, '$2.50 of $10 refunded: 250 of the period\'s 1,000 credits');
  const [entry] = await adjustments(ctx, 'acct_org');
  t.match(entry, { amount: -250, requested: 250 });
  const { rows } = await ctx.database.pool.query("SELECT grant_id, metadata FROM ledger_entries WHERE account_id = 'acct_org' AND kind = 'adjustment'");
  const { rows: period } = await ctx.database.pool.query('SELECT grant_id FROM subscription_grants WHERE stripe_invoice_id = $1', [renewal.id]);
  t.equal(rows[0].grant_id, period[0].grant_id, "taken from the renewal's grant");
  t.equal(rows[0].metadata.stripeInvoiceId, renewal.id);

  const [first] = (await ctx.stripe.invoicePayments.list({ invoice: invoiceId })).data;
  await ctx.stripe.refunds.create({ payment_intent: first!.payment.payment_intent as string });
  await settled(ctx);
  t.equal(await available(ctx, 'acct_org'), 750, "the first invoice refunded in full: its period's 1,000 credits");
  t.same((await adjustments(ctx, 'acct_org')).map((a) => a.amount), [-250, -1000]);
});

/** A subscription (1,000 credits a month for $10) whose first period Tally granted, renewed at Stripe, Tally told nothing of the renewal: its paid invoice and payment intent. */
async function renewedUnheard(ctx: TestApp) {
  const { plan } = await accountAndPlan(ctx);
  const { checkout, subscriptionId, invoiceId } = await subscribe(ctx, 'acct_org', plan.id);
  await ctx.call('POST', `/v1/checkout/sessions/${checkout.id}/sync`);
  await advancePastPeriodEnd(ctx, subscriptionId);
  const renewal = (await ctx.stripe.invoices.list({ subscription: subscriptionId })).data.find((invoice) => invoice.id !== invoiceId)!;
  const [payment] = (await ctx.stripe.invoicePayments.list({ invoice: renewal.id })).data;
  return { renewal, paymentIntent: payment!.payment.payment_intent as string };
}

t.test("a renewal refunded before its invoice.paid is processed: the period is granted, then taken back; the late invoice.paid grants nothing", async (t) => {
  const ctx = await build(t); // not listening: Stripe's webhooks go nowhere until posted by hand
  const { renewal, paymentIntent } = await renewedUnheard(ctx);
  t.equal(await available(ctx, 'acct_org'), 1000, 'the first period only');
  const refund = await ctx.stripe.refunds.create({ payment_intent: paymentIntent });
  const charge = (await ctx.stripe.charges.list({ payment_intent: paymentIntent })).data[0]!;

  t.equal((await postEvent(ctx, signedEvent(ctx.stripe, 'charge.refunded', charge))).statusCode, 200);
  await handled(ctx);
  t.equal(await available(ctx, 'acct_org'), 1000, "the renewal's period granted and taken back whole");
  const { rows: period } = await ctx.database.pool.query('SELECT grant_id, credits FROM subscription_grants WHERE stripe_invoice_id = $1', [renewal.id]);
  t.match(period, [{ credits: '1000' }], 'granted through the invoice.paid path, keyed by its period');
  t.match(await adjustments(ctx, 'acct_org'), [{ amount: -1000, requested: 1000, key: `refund:${refund.id}:${period[0].grant_id}` }]);

  t.equal((await postEvent(ctx, signedEvent(ctx.stripe, 'invoice.paid', renewal))).statusCode, 200);
  await handled(ctx);
  t.equal(await available(ctx, 'acct_org'), 1000, 'the late invoice.paid finds the period granted');
  t.equal((await ctx.database.pool.query('SELECT count(*)::int AS n FROM subscription_grants WHERE stripe_invoice_id = $1', [renewal.id])).rows[0].n, 1);
  t.equal(Number((await ledgerSum(ctx.database, 'acct_org')).available), 1000, 'the ledger sums to the balance');
});

t.test("a renewal disputed before its invoice.paid is processed: the period is granted, then taken back", async (t) => {
  const ctx = await build(t);
  const { renewal, paymentIntent } = await renewedUnheard(ctx);
  const charge = (await ctx.stripe.charges.list({ payment_intent: paymentIntent })).data[0]!;
  const dispute = await ctx.stripe.disputes.retrieve(await ctx.simulator.openDispute(charge.id));

  t.equal((await postEvent(ctx, signedEvent(ctx.stripe, 'charge.dispute.funds_withdrawn', dispute))).statusCode, 200);
  await handled(ctx);
  t.equal(await available(ctx, 'acct_org'), 1000, "the renewal's period granted and taken back whole");
  t.match(await adjustments(ctx, 'acct_org'), [{ amount: -1000, requested: 1000, key: new RegExp(`^dispute:${dispute.id}:grt_`) }]);
  t.equal((await postEvent(ctx, signedEvent(ctx.stripe, 'invoice.paid', renewal))).statusCode, 200);
  await handled(ctx);
  t.equal(await available(ctx, 'acct_org'), 1000, 'the late invoice.paid grants nothing');
});

t.test('creditShares: each part takes the difference of the rounded-down running shares', async (t) => {
  t.same(creditShares(500, 500, [200, 300]), [200, 300]);
  t.same(creditShares(100, 300, [100, 100, 100]), [33, 33, 34], 'the whole amount takes back every credit');
  t.same(creditShares(10, 3, [1, 1]), [3, 3]);
  t.same(creditShares(10, 100, [150]), [10], 'never more than all');
  t.same(creditShares(1_000_000_000_000, 99_999_999, [99_999_998]), [999_999_989_999], 'exact beyond 2^53 in the middle');
  t.same(creditShares(10, 0, [5]), [0]);
});
