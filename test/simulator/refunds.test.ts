import Stripe from 'stripe';
import t from 'tap';
import { allDelivered, monthlyPrice, startReceiver, startSimulator } from './helper.js';

/** A payment-mode checkout for a 1000-cent credit pack, with metadata that the charge inherits. */
async function creditPackCheckout(stripe: Stripe, customer?: string) {
  return stripe.checkout.sessions.create({
    mode: 'payment',
    ...(customer ? { customer } : { customer_email: 'buyer@example.com' }),
    payment_intent_data: { metadata: { accountId: 'acc_7' } },
    line_items: [{ quantity: 1, price_data: { currency: 'usd', unit_amount: 1000, product_data: { name: '1000 credits' } } }],
    success_url: 'https://tally.test/ok',
  });
}

/** Events of the given types, oldest first (the API lists newest first). */
async function eventsOf(stripe: Stripe, types: string[]): Promise<Stripe.Event[]> {
  const listed = await stripe.events.list({ types, limit: 100 });
  return [...listed.data].reverse();
}

async function paidCharge(stripe: Stripe, pay: (sessionId: string) => Promise<void>, customer?: string) {
  const session = await creditPackCheckout(stripe, customer);
  await pay(session.id);
  const paid = await stripe.checkout.sessions.retrieve(session.id);
  const charges = await stripe.charges.list({ payment_intent: paid.payment_intent as string });
  return { session: paid, charges: charges.data };
}

const invalidRequest = (error: unknown) => error as Stripe.errors.StripeInvalidRequestError;

t.test('a paid payment-mode session has one succeeded charge for its payment intent', async (t) => {
  const { stripe, simulator } = await startSimulator(t);
  const customer = await stripe.customers.create({ email: 'buyer@example.com' });
  const { session, charges } = await paidCharge(stripe, (id) => simulator.pay(id), customer.id);
  t.match(session.payment_intent, /^pi_/);
  t.equal(charges.length, 1);
  const charge: Stripe.Charge = charges[0]!;
  t.match(charge, {
    object: 'charge', amount: 1000, amount_captured: 1000, amount_refunded: 0, refunded: false, captured: true,
    paid: true, status: 'succeeded', currency: 'usd', customer: customer.id, payment_intent: session.payment_intent,
    disputed: false, livemode: false, failure_code: null,
  });
  t.match(charge.id, /^ch_/);
  t.same(charge.metadata, { accountId: 'acc_7' }, 'metadata comes from payment_intent_data');
  t.equal(charge.payment_method_details?.card?.last4, '4242');
  t.equal(charge.outcome?.type, 'authorized');

  t.same((await stripe.charges.retrieve(charge.id)).id, charge.id);
  t.same((await stripe.charges.list({ customer: customer.id })).data.map((c) => c.id), [charge.id]);
  t.same((await stripe.charges.list({ payment_intent: 'pi_other' })).data, []);
  const missing = await stripe.charges.retrieve('ch_missing').catch((e: unknown) => e);
  t.ok(missing instanceof Stripe.errors.StripeInvalidRequestError);
  t.match(missing, { statusCode: 404, code: 'resource_missing' });
});

t.test('partial then full refunds update the charge and send refund.created then charge.refunded', async (t) => {
  const receiver = await startReceiver(t);
  const { stripe, simulator } = await startSimulator(t, { webhookUrl: receiver.url });
  const { session, charges } = await paidCharge(stripe, (id) => simulator.pay(id));
  const charge = charges[0]!;
  const paymentIntent = session.payment_intent as string;

  const partial: Stripe.Refund = await stripe.refunds.create({
    payment_intent: paymentIntent, amount: 300, reason: 'requested_by_customer', metadata: { ticket: 'T-1' },
  });
  t.match(partial.id, /^re_/);
  t.match(partial, {
    object: 'refund', amount: 300, charge: charge.id, payment_intent: paymentIntent, currency: 'usd',
    status: 'succeeded', reason: 'requested_by_customer',
  });
  t.same(partial.metadata, { ticket: 'T-1' });
  const afterPartial = await stripe.charges.retrieve(charge.id);
  t.equal(afterPartial.amount_refunded, 300);
  t.equal(afterPartial.refunded, false);

  const rest: Stripe.Refund = await stripe.refunds.create({ charge: charge.id });
  t.equal(rest.amount, 700, 'without amount, what is left is refunded');
  t.equal(rest.reason, null);
  const afterFull = await stripe.charges.retrieve(charge.id);
  t.equal(afterFull.amount_refunded, 1000);
  t.equal(afterFull.refunded, true);

  const events = await eventsOf(stripe, ['refund.created', 'charge.refunded']);
  t.same(events.map((e) => e.type), ['refund.created', 'charge.refunded', 'refund.created', 'charge.refunded']);
  const [firstRefund, firstCharge, secondRefund, secondCharge] = events.map((e) => e.data.object) as [
    Stripe.Refund, Stripe.Charge, Stripe.Refund, Stripe.Charge,
  ];
  t.equal(firstRefund.id, partial.id);
  t.match(firstCharge, { id: charge.id, amount_refunded: 300, refunded: false }, 'the charge as it was after the first refund');
  t.equal(secondRefund.id, rest.id);
  t.match(secondCharge, { id: charge.id, amount_refunded: 1000, refunded: true });

  await allDelivered(simulator);
  const delivered = receiver.delivered.map((r) => r.event.type).filter((type) => type !== 'checkout.session.completed');
  t.same(delivered.sort(), ['charge.refunded', 'charge.refunded', 'refund.created', 'refund.created'], 'and are delivered signed');

  const byCharge = await stripe.refunds.list({ charge: charge.id });
  t.same(byCharge.data.map((r) => r.id), [rest.id, partial.id], 'newest first');
  t.same((await stripe.refunds.list({ payment_intent: paymentIntent, limit: 1 })).data.map((r) => r.id), [rest.id]);
  t.same((await stripe.refunds.retrieve(partial.id)).amount, 300);
});

t.test('refunding too much or a fully refunded charge fails as Stripe does', async (t) => {
  const { stripe, simulator } = await startSimulator(t);
  const { charges } = await paidCharge(stripe, (id) => simulator.pay(id));
  const charge = charges[0]!;

  const tooLarge = await stripe.refunds.create({ charge: charge.id, amount: 1001 }).catch((e: unknown) => e);
  t.ok(tooLarge instanceof Stripe.errors.StripeInvalidRequestError);
  t.match(invalidRequest(tooLarge), { statusCode: 400, type: 'StripeInvalidRequestError', code: 'amount_too_large', param: 'amount' });

  await stripe.refunds.create({ charge: charge.id, amount: 600 });
  const overLeft = await stripe.refunds.create({ charge: charge.id, amount: 401 }).catch((e: unknown) => e);
  t.match(invalidRequest(overLeft), { statusCode: 400, code: 'amount_too_large' }, 'above what is left counts, not the charge amount');
  await stripe.refunds.create({ charge: charge.id, amount: 400 });

  const again = await stripe.refunds.create({ charge: charge.id }).catch((e: unknown) => e);
  t.ok(again instanceof Stripe.errors.StripeInvalidRequestError);
  t.match(invalidRequest(again), { statusCode: 400, code: 'charge_already_refunded' });
  t.equal((await stripe.refunds.list({ charge: charge.id })).data.length, 2, 'failed attempts create no refunds');
  t.equal((await eventsOf(stripe, ['refund.created'])).length, 2, 'and send no events');

  const both = await stripe.refunds.create({ charge: charge.id, payment_intent: charge.payment_intent as string }).catch((e: unknown) => e);
  t.ok(both instanceof Stripe.errors.StripeInvalidRequestError, 'charge and payment_intent together');
  const neither = await stripe.refunds.create({}).catch((e: unknown) => e);
  t.match(invalidRequest(neither), { code: 'parameter_missing' });
  const unknown = await stripe.refunds.create({ charge: 'ch_missing' }).catch((e: unknown) => e);
  t.match(invalidRequest(unknown), { statusCode: 400, code: 'resource_missing', param: 'charge' });
});

t.test('an Idempotency-Key replays the refund instead of refunding twice', async (t) => {
  const { stripe, simulator } = await startSimulator(t);
  const { charges } = await paidCharge(stripe, (id) => simulator.pay(id));
  const charge = charges[0]!;
  const first = await stripe.refunds.create({ charge: charge.id, amount: 250 }, { idempotencyKey: 'refund-1' });
  const second = await stripe.refunds.create({ charge: charge.id, amount: 250 }, { idempotencyKey: 'refund-1' });
  t.equal(second.id, first.id);
  t.equal(second.lastResponse.headers['idempotent-replayed'], 'true');
  t.equal((await stripe.charges.retrieve(charge.id)).amount_refunded, 250);
  t.equal((await eventsOf(stripe, ['refund.created'])).length, 1);
});

t.test('a bank-debit charge is pending, cannot be refunded, and succeeds or fails on settle', async (t) => {
  const { stripe, simulator } = await startSimulator(t);
  const { session, charges } = await paidCharge(stripe, (id) => simulator.payByBankDebit(id));
  const pending = charges[0]!;
  t.match(pending, { status: 'pending', paid: false, amount: 1000, outcome: null });
  t.equal(pending.payment_method_details?.type, 'us_bank_account');

  const early = await stripe.refunds.create({ payment_intent: session.payment_intent as string }).catch((e: unknown) => e);
  t.ok(early instanceof Stripe.errors.StripeInvalidRequestError);
  t.match(invalidRequest(early), { statusCode: 400, code: 'charge_not_refundable' });

  await simulator.settleBankDebit(session.id, true);
  t.match(await stripe.charges.retrieve(pending.id), { status: 'succeeded', paid: true, failure_code: null });
  t.equal((await stripe.refunds.create({ charge: pending.id })).amount, 1000, 'refundable once settled');

  const failedPayment = await paidCharge(stripe, (id) => simulator.payByBankDebit(id));
  await simulator.settleBankDebit(failedPayment.session.id, false);
  const failed = await stripe.charges.retrieve(failedPayment.charges[0]!.id);
  t.match(failed, { status: 'failed', paid: false, failure_code: 'insufficient_funds' });
  const refundFailed = await stripe.refunds.create({ charge: failed.id }).catch((e: unknown) => e);
  t.match(invalidRequest(refundFailed), { code: 'charge_not_refundable' });
});

t.test('free sessions have no charges; a subscription has its first invoice\'s', async (t) => {
  const { stripe, simulator } = await startSimulator(t);
  const free = await stripe.checkout.sessions.create({
    mode: 'payment', customer_email: 'free@example.com', success_url: 'https://tally.test/ok',
    line_items: [{ quantity: 1, price_data: { currency: 'usd', unit_amount: 0, product_data: { name: 'free' } } }],
  });
  await simulator.pay(free.id);
  const price = await monthlyPrice(stripe);
  const subscription = await stripe.checkout.sessions.create({
    mode: 'subscription', customer_email: 'sub@example.com', success_url: 'https://tally.test/ok',
    line_items: [{ price: price.id, quantity: 1 }],
  });
  await simulator.pay(subscription.id);
  t.equal((await stripe.checkout.sessions.retrieve(free.id)).payment_status, 'no_payment_required');
  const invoice = (await stripe.checkout.sessions.retrieve(subscription.id)).invoice as string;
  const payment = (await stripe.invoicePayments.list({ invoice })).data[0]!;
  t.same(
    (await stripe.charges.list()).data.map((charge) => [charge.amount, charge.payment_intent]),
    [[1500, payment.payment.payment_intent]],
  );
});

t.test('a dispute opened and closed sends its events, with the money withdrawn at once and reinstated when won', async (t) => {
  const { stripe, simulator } = await startSimulator(t);
  const { charges } = await paidCharge(stripe, (id) => simulator.pay(id));
  const charge = charges[0]!;
  await stripe.refunds.create({ charge: charge.id, amount: 200 });

  const lostId = await simulator.openDispute(charge.id);
  t.match(lostId, /^dp_/);
  const opened: Stripe.Dispute = await stripe.disputes.retrieve(lostId);
  t.match(opened, {
    object: 'dispute', amount: 800, charge: charge.id, payment_intent: charge.payment_intent, currency: 'usd',
    status: 'needs_response', reason: 'fraudulent', livemode: false, is_charge_refundable: false,
  });
  t.equal(opened.amount, 800, 'defaults to the amount not refunded');
  t.equal((await stripe.charges.retrieve(charge.id)).disputed, true);
  const refundDisputed = await stripe.refunds.create({ charge: charge.id }).catch((e: unknown) => e);
  t.match(invalidRequest(refundDisputed), { code: 'charge_disputed' }, 'a disputed charge cannot be refunded');
  const second = await simulator.openDispute(charge.id).catch((e: unknown) => e);
  t.ok(second instanceof Error, 'one dispute per charge');

  await simulator.closeDispute(lostId, false);
  t.equal((await stripe.disputes.retrieve(lostId)).status, 'lost');
  const closeAgain = await simulator.closeDispute(lostId, true).catch((e: unknown) => e);
  t.ok(closeAgain instanceof Error, 'a closed dispute stays closed');

  const other = await paidCharge(stripe, (id) => simulator.pay(id));
  const wonId = await simulator.openDispute(other.charges[0]!.id, 500);
  await simulator.closeDispute(wonId, true);

  const events = await eventsOf(stripe, ['charge.dispute.*']);
  t.same(
    events.map((e) => [e.type, (e.data.object as Stripe.Dispute).id, (e.data.object as Stripe.Dispute).status]),
    [
      ['charge.dispute.created', lostId, 'needs_response'],
      ['charge.dispute.funds_withdrawn', lostId, 'needs_response'],
      ['charge.dispute.closed', lostId, 'lost'],
      ['charge.dispute.created', wonId, 'needs_response'],
      ['charge.dispute.funds_withdrawn', wonId, 'needs_response'],
      ['charge.dispute.funds_reinstated', wonId, 'won'],
      ['charge.dispute.closed', wonId, 'won'],
    ],
  );
  t.equal((events[3]!.data.object as Stripe.Dispute).amount, 500);
});

t.test('disputes can be opened and closed over HTTP', async (t) => {
  const { stripe, simulator, url } = await startSimulator(t);
  const { charges } = await paidCharge(stripe, (id) => simulator.pay(id));
  const post = (path: string, body: unknown) => fetch(`${url}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });

  const opened = await post('/_simulator/disputes', { charge: charges[0]!.id, amount: 400 });
  t.equal(opened.status, 200);
  const dispute = (await opened.json()) as Stripe.Dispute;
  t.match(dispute, { object: 'dispute', amount: 400, status: 'needs_response', charge: charges[0]!.id });

  const closed = await post(`/_simulator/disputes/${dispute.id}/close`, { won: false });
  t.equal(closed.status, 200);
  t.equal(((await closed.json()) as Stripe.Dispute).status, 'lost');
  t.equal((await stripe.disputes.retrieve(dispute.id)).status, 'lost');

  t.equal((await post('/_simulator/disputes', { charge: 'ch_missing' })).status, 400);
  t.equal((await post('/_simulator/disputes/dp_missing/close', { won: true })).status, 404);
  t.equal((await post('/_simulator/disputes', { charge: charges[0]!.id, amount: 0 })).status, 400);
});

t.test('a refund that fails: status failed, the charge no longer refunded, refund.failed and charge.refund.updated sent', async (t) => {
  const { stripe, simulator, url } = await startSimulator(t);
  const { charges } = await paidCharge(stripe, (id) => simulator.pay(id));
  const refund = await stripe.refunds.create({ charge: charges[0]!.id, amount: 600 });
  t.equal((await stripe.charges.retrieve(charges[0]!.id)).amount_refunded, 600);

  const failed = await fetch(`${url}/_simulator/refunds/${refund.id}/fail`, { method: 'POST' });
  t.equal(failed.status, 200);
  t.match(await stripe.refunds.retrieve(refund.id), { status: 'failed', failure_reason: 'expired_or_canceled_card' });
  t.match(await stripe.charges.retrieve(charges[0]!.id), { amount_refunded: 0, refunded: false }, 'the money stayed with the merchant');
  const events = await eventsOf(stripe, ['refund.failed', 'charge.refund.updated']);
  t.same(events.map((e) => [e.type, (e.data.object as Stripe.Refund).id, (e.data.object as Stripe.Refund).status]), [
    ['refund.failed', refund.id, 'failed'],
    ['charge.refund.updated', refund.id, 'failed'],
  ]);
  t.same(events[0]!.data.previous_attributes, { status: 'succeeded' });

  t.equal((await fetch(`${url}/_simulator/refunds/${refund.id}/fail`, { method: 'POST' })).status, 400, 'a failed refund cannot fail again');
  t.equal((await fetch(`${url}/_simulator/refunds/re_missing/fail`, { method: 'POST' })).status, 404);
  const again = await stripe.refunds.create({ charge: charges[0]!.id });
  t.equal(again.amount, 1000, 'the whole charge can be refunded again');
});
