import Stripe from 'stripe';
import t from 'tap';
import { allDelivered, monthlyPrice, startReceiver, startSimulator, type ReceivedEvent } from './helper.js';

const DAY = 86_400;
const FAILS_LATER_CARD = '4000000000000341';

const ofType = (received: ReceivedEvent[], type: string) => received.filter((r) => r.event.type === type).map((r) => r.event);

/** Buys a 1500-cent monthly plan through Checkout; returns the subscription and its first invoice. */
async function subscribe(stripe: Stripe, pay: (sessionId: string) => Promise<void>) {
  const price = await monthlyPrice(stripe, 1500);
  const session = await stripe.checkout.sessions.create({
    mode: 'subscription', customer_email: 'sub@example.com', success_url: 'https://tally.test/ok',
    line_items: [{ price: price.id, quantity: 1 }],
  });
  await pay(session.id);
  const paid = await stripe.checkout.sessions.retrieve(session.id);
  const subscription = await stripe.subscriptions.retrieve(paid.subscription as string);
  return { subscription, invoice: await stripe.invoices.retrieve(paid.invoice as string) };
}

/** The one payment of an invoice and the charges of its payment intent. */
async function paymentOf(stripe: Stripe, invoice: string) {
  const payments = await stripe.invoicePayments.list({ invoice });
  const paymentIntent = payments.data[0]?.payment.payment_intent as string;
  const charges = await stripe.charges.list({ payment_intent: paymentIntent });
  return { payments: payments.data, paymentIntent, charges: charges.data };
}

t.test('the first invoice of a subscription is paid by a payment intent with one succeeded charge', async (t) => {
  const { stripe, simulator } = await startSimulator(t);
  const { subscription, invoice } = await subscribe(stripe, (id) => simulator.pay(id));
  const { payments, paymentIntent, charges } = await paymentOf(stripe, invoice.id);

  t.equal(payments.length, 1);
  const payment: Stripe.InvoicePayment = payments[0]!;
  t.match(payment.id, /^inpay_/);
  t.match(paymentIntent, /^pi_/);
  t.match(payment, {
    object: 'invoice_payment', amount_paid: 1500, amount_requested: 1500, currency: 'usd', invoice: invoice.id,
    is_default: true, livemode: false, status: 'paid',
  });
  t.same(payment.payment, { type: 'payment_intent', payment_intent: paymentIntent });
  t.same(payment.status_transitions, { canceled_at: null, paid_at: invoice.status_transitions.paid_at });

  t.equal(charges.length, 1);
  t.match(charges[0], {
    object: 'charge', amount: 1500, amount_refunded: 0, currency: 'usd', status: 'succeeded', paid: true,
    customer: subscription.customer, payment_intent: paymentIntent,
  });
  t.equal(charges[0]!.billing_details.email, 'sub@example.com');
  t.equal(charges[0]!.payment_method_details?.card?.last4, '4242');

  t.same((await stripe.invoicePayments.retrieve(payment.id)).payment, payment.payment);
  const expanded = await stripe.invoicePayments.retrieve(payment.id, { expand: ['invoice'] });
  t.equal((expanded.invoice as Stripe.Invoice).id, invoice.id);
  const missing = await stripe.invoicePayments.retrieve('inpay_missing').catch((e: unknown) => e);
  t.ok(missing instanceof Stripe.errors.StripeInvalidRequestError);
  t.match(missing, { statusCode: 404, code: 'resource_missing' });
});

t.test('invoice payments are found by their payment intent, sent as payment[type] and payment[payment_intent]', async (t) => {
  const { stripe, simulator } = await startSimulator(t);
  const first = await subscribe(stripe, (id) => simulator.pay(id));
  const second = await subscribe(stripe, (id) => simulator.pay(id));
  const { payments, paymentIntent } = await paymentOf(stripe, first.invoice.id);
  const paths: string[] = [];
  stripe.on('request', (request: Stripe.RequestEvent) => paths.push(request.path));

  const found = await stripe.invoicePayments.list({ payment: { type: 'payment_intent', payment_intent: paymentIntent } });
  t.same(found.data.map((p) => p.id), [payments[0]!.id]);
  t.equal(found.data[0]!.invoice, first.invoice.id);
  t.match(paths[0], `payment[type]=payment_intent&payment[payment_intent]=${paymentIntent}`);

  const unknown = await stripe.invoicePayments.list({ payment: { type: 'payment_intent', payment_intent: 'pi_unknown' } });
  t.same(unknown.data, []);
  t.equal((await stripe.invoicePayments.list({ payment: { type: 'payment_record', payment_record: 'prec_1' } })).data.length, 0);

  const all = await stripe.invoicePayments.list({ status: 'paid', limit: 1 });
  t.equal(all.data[0]!.invoice, second.invoice.id, 'newest first');
  t.equal(all.has_more, true);
  const next = await stripe.invoicePayments.list({ status: 'paid', limit: 1, starting_after: all.data[0]!.id });
  t.same(next.data.map((p) => p.invoice), [first.invoice.id]);
  t.same((await stripe.invoicePayments.list({ status: 'open' })).data, []);

  const badType = await stripe.invoicePayments.list({ payment: { payment_intent: paymentIntent } as never }).catch((e: unknown) => e);
  t.match(badType, { statusCode: 400, code: 'parameter_missing', param: 'payment[type]' });
});

t.test('a renewal has its own payment intent and charge, and refunding it sends charge.refunded', async (t) => {
  const receiver = await startReceiver(t);
  const { stripe, simulator } = await startSimulator(t, { webhookUrl: receiver.url });
  const { subscription, invoice: firstInvoice } = await subscribe(stripe, (id) => simulator.pay(id));
  await simulator.advanceClock(32 * DAY);

  const invoices = await stripe.invoices.list({ subscription: subscription.id });
  t.equal(invoices.data.length, 2);
  const renewal = invoices.data[0]!;
  t.match(renewal, { billing_reason: 'subscription_cycle', status: 'paid', amount_paid: 1500 });
  const first = await paymentOf(stripe, firstInvoice.id);
  const renewed = await paymentOf(stripe, renewal.id);
  t.equal(renewed.payments.length, 1);
  t.match(renewed.payments[0], { amount_paid: 1500, status: 'paid', invoice: renewal.id });
  t.not(renewed.paymentIntent, first.paymentIntent, 'a payment intent per invoice');
  t.equal(renewed.charges.length, 1);
  const charge = renewed.charges[0]!;
  t.match(charge, { amount: 1500, status: 'succeeded', customer: subscription.customer });
  t.equal((await stripe.charges.list({ customer: subscription.customer as string })).data.length, 2);

  const refund = await stripe.refunds.create({ payment_intent: renewed.paymentIntent });
  t.match(refund, { amount: 1500, charge: charge.id, payment_intent: renewed.paymentIntent, status: 'succeeded' });
  t.match(await stripe.charges.retrieve(charge.id), { amount_refunded: 1500, refunded: true });
  t.equal((await stripe.charges.retrieve(first.charges[0]!.id)).amount_refunded, 0, 'the first charge is untouched');
  t.equal((await stripe.invoices.retrieve(renewal.id)).status, 'paid', 'a refund leaves the invoice paid');

  await allDelivered(simulator);
  const refunded = ofType(receiver.delivered, 'charge.refunded');
  t.equal(refunded.length, 1);
  t.match(refunded[0]!.data.object, { id: charge.id, payment_intent: renewed.paymentIntent, amount_refunded: 1500 });
  t.equal((ofType(receiver.delivered, 'refund.created')[0]!.data.object as Stripe.Refund).id, refund.id);
  const types = receiver.delivered.map((r) => r.event.type);
  t.equal(types.filter((type) => type === 'invoice.paid').length, 2, 'no extra billing events');
  t.notOk(types.some((type) => type.startsWith('charge.') && type !== 'charge.refunded'));
});

t.test('a declined renewal makes no charge; paying it with a new card does', async (t) => {
  const { stripe, simulator } = await startSimulator(t);
  const { subscription } = await subscribe(stripe, (id) => simulator.pay(id, FAILS_LATER_CARD));
  await simulator.advanceClock(32 * DAY);

  const renewal = (await stripe.invoices.list({ subscription: subscription.id })).data[0]!;
  t.match(renewal, { billing_reason: 'subscription_cycle', status: 'open', amount_paid: 0 });
  t.same((await stripe.invoicePayments.list({ invoice: renewal.id })).data, []);
  const customer = subscription.customer as string;
  t.equal((await stripe.charges.list({ customer })).data.length, 1, 'only the first invoice was charged');
  t.equal((await stripe.invoicePayments.list()).data.length, 1);

  const portal = await stripe.billingPortal.sessions.create({ customer, return_url: 'https://tally.test/account' });
  const updated = await fetch(`${portal.url}/update-card`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ card: '4242 4242 4242 4242' }).toString(), redirect: 'manual',
  });
  t.equal(updated.status, 303);
  const retried = await paymentOf(stripe, renewal.id);
  t.equal(retried.payments.length, 1, 'the retry that pays the invoice records its payment');
  t.equal(retried.charges.length, 1);
  t.match(retried.charges[0], { amount: 1500, status: 'succeeded' });
  t.equal(retried.charges[0]!.payment_method_details?.card?.last4, '4242', 'charged to the new card');
});

t.test('an always_invoice plan change charges the prorated amount', async (t) => {
  const { stripe, simulator } = await startSimulator(t);
  const { subscription } = await subscribe(stripe, (id) => simulator.pay(id));
  const pro = await monthlyPrice(stripe, 3000);
  await simulator.advanceClock(10 * DAY);
  await stripe.subscriptions.update(subscription.id, {
    items: [{ id: subscription.items.data[0]!.id, price: pro.id }], proration_behavior: 'always_invoice',
  });

  const proration = (await stripe.invoices.list({ subscription: subscription.id })).data[0]!;
  t.equal(proration.billing_reason, 'subscription_update');
  t.ok(proration.amount_paid > 0 && proration.amount_paid < 1500);
  const { payments, charges } = await paymentOf(stripe, proration.id);
  t.equal(payments[0]!.amount_paid, proration.amount_paid);
  t.same(charges.map((c) => [c.amount, c.status]), [[proration.amount_paid, 'succeeded']]);
});

t.test('a payment-mode session with invoice_creation has one charge, and its invoice is paid by the session', async (t) => {
  const { stripe, simulator } = await startSimulator(t);
  const customer = await stripe.customers.create({ email: 'buyer@example.com' });
  const session = await stripe.checkout.sessions.create({
    mode: 'payment', customer: customer.id, success_url: 'https://tally.test/ok',
    invoice_creation: { enabled: true },
    line_items: [{ quantity: 1, price_data: { currency: 'usd', unit_amount: 1000, product_data: { name: '1000 credits' } } }],
  });
  await simulator.pay(session.id);
  const paid = await stripe.checkout.sessions.retrieve(session.id);
  const paymentIntent = paid.payment_intent as string;

  const charges = await stripe.charges.list();
  t.equal(charges.data.length, 1, 'the invoice is not charged a second time');
  t.match(charges.data[0], { amount: 1000, payment_intent: paymentIntent, customer: customer.id });

  const { payments } = await paymentOf(stripe, paid.invoice as string);
  t.equal(payments.length, 1);
  t.match(payments[0], { amount_paid: 1000, status: 'paid', payment: { type: 'payment_intent', payment_intent: paymentIntent } });
  const byIntent = await stripe.invoicePayments.list({ payment: { type: 'payment_intent', payment_intent: paymentIntent } });
  t.same(byIntent.data.map((p) => p.invoice), [paid.invoice]);
});

t.test('free invoices have no payments and no charges', async (t) => {
  const { stripe, simulator } = await startSimulator(t);
  const { invoice } = await subscribe(stripe, (id) => simulator.pay(id));
  const free = await monthlyPrice(stripe, 0);
  const session = await stripe.checkout.sessions.create({
    mode: 'subscription', customer_email: 'free@example.com', success_url: 'https://tally.test/ok',
    line_items: [{ price: free.id, quantity: 1 }],
  });
  await simulator.pay(session.id);
  const freeInvoice = (await stripe.checkout.sessions.retrieve(session.id)).invoice as string;
  t.match(await stripe.invoices.retrieve(freeInvoice), { status: 'paid', amount_paid: 0 });
  t.same((await stripe.invoicePayments.list({ invoice: freeInvoice })).data, []);
  t.same((await stripe.invoicePayments.list()).data.map((p) => p.invoice), [invoice.id]);
  t.equal((await stripe.charges.list()).data.length, 1);
});
