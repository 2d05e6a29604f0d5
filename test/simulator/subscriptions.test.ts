import Stripe from 'stripe';
import t from 'tap';
import { allDelivered, monthlyPrice, startReceiver, startSimulator, type ReceivedEvent } from './helper.js';

const DAY = 86_400;

async function subscribe(stripe: Stripe, price: Stripe.Price, email = 'sub@example.com') {
  return stripe.checkout.sessions.create({
    mode: 'subscription',
    customer_email: email,
    line_items: [{ price: price.id, quantity: 1 }],
    subscription_data: { metadata: { accountId: 'acc_9' } },
    success_url: 'https://tally.test/ok?session={CHECKOUT_SESSION_ID}',
  });
}

const ofType = (received: ReceivedEvent[], type: string) => received.filter((r) => r.event.type === type).map((r) => r.event);

t.test('paying a subscription checkout creates an active subscription and a paid invoice', async (t) => {
  const receiver = await startReceiver(t);
  const { stripe, simulator } = await startSimulator(t, { webhookUrl: receiver.url });
  const price = await monthlyPrice(stripe, 1500);
  const session = await subscribe(stripe, price);
  await simulator.pay(session.id);
  await allDelivered(simulator);
  t.same(receiver.delivered.map((r) => r.event.type).sort(), [
    'checkout.session.completed', 'customer.subscription.created', 'invoice.paid', 'invoice.payment_succeeded',
  ]);

  const completed = ofType(receiver.delivered, 'checkout.session.completed')[0]!.data.object as Stripe.Checkout.Session;
  t.match(completed.subscription, /^sub_/);
  t.match(completed.invoice, /^in_/);
  t.match(completed.customer, /^cus_/);
  t.equal(completed.customer_details?.email, 'sub@example.com');

  const subscription = await stripe.subscriptions.retrieve(completed.subscription as string);
  t.equal(subscription.status, 'active');
  t.same(subscription.metadata, { accountId: 'acc_9' }, 'metadata comes from subscription_data');
  t.equal(subscription.latest_invoice, completed.invoice);
  const item = subscription.items.data[0]!;
  t.match(item.id, /^si_/);
  t.equal(item.price.id, price.id);
  t.ok(item.current_period_end - item.current_period_start >= 28 * DAY, 'a one-month period on the item');
  t.notOk('current_period_end' in subscription, 'periods live on items in this API version');

  const invoice = await stripe.invoices.retrieve(completed.invoice as string);
  t.equal(invoice.status, 'paid');
  t.equal(invoice.billing_reason, 'subscription_create');
  t.equal(invoice.amount_paid, 1500);
  t.equal(invoice.parent?.type, 'subscription_details');
  t.equal(invoice.parent?.subscription_details?.subscription, subscription.id);
  t.same(invoice.parent?.subscription_details?.metadata, { accountId: 'acc_9' });
  const line = invoice.lines.data[0]!;
  t.same(line.period, { start: item.current_period_start, end: item.current_period_end });
  t.equal(line.pricing?.price_details?.price, price.id);
  t.equal(line.pricing?.price_details?.product, price.product);
  t.notOk('subscription' in invoice || 'paid' in invoice || 'charge' in invoice, 'no legacy invoice fields');

  const listed = await stripe.subscriptions.list({ customer: subscription.customer as string });
  t.same(listed.data.map((s) => s.id), [subscription.id]);
  const invoices = await stripe.invoices.list({ subscription: subscription.id });
  t.equal(invoices.data.length, 1);
});

t.test('advancing the clock three periods renews three times with distinct periods', async (t) => {
  const receiver = await startReceiver(t);
  const { stripe, simulator } = await startSimulator(t, { webhookUrl: receiver.url });
  const price = await monthlyPrice(stripe, 1500);
  await simulator.pay((await subscribe(stripe, price)).id);
  await simulator.advanceClock(3 * 31 * DAY + 3600);
  await allDelivered(simulator);

  const renewals = ofType(receiver.delivered, 'invoice.paid')
    .map((event) => event.data.object as Stripe.Invoice)
    .filter((invoice) => invoice.billing_reason === 'subscription_cycle')
    .sort((a, b) => a.created - b.created);
  t.equal(renewals.length, 3);
  const periods = renewals.map((invoice) => invoice.lines.data[0]!.period);
  t.equal(new Set(periods.map((p) => p.start)).size, 3, 'distinct periods');
  for (let i = 1; i < periods.length; i++) t.equal(periods[i]!.start, periods[i - 1]!.end, 'periods are contiguous');
  t.equal(ofType(receiver.delivered, 'invoice.payment_succeeded').length, 4);
  t.equal(ofType(receiver.delivered, 'customer.subscription.updated').length, 3);

  const updated = ofType(receiver.delivered, 'customer.subscription.updated')[0]!;
  t.ok(updated.data.previous_attributes, 'renewal updates carry previous_attributes');
  const subscriptionId = renewals[0]!.parent!.subscription_details!.subscription as string;
  const subscription = await stripe.subscriptions.retrieve(subscriptionId);
  t.equal(subscription.items.data[0]!.current_period_start, periods[2]!.start);
  t.equal(subscription.latest_invoice, renewals[2]!.id);
});

t.test('a card that fails later makes the renewal fail: invoice.payment_failed and past_due', async (t) => {
  const receiver = await startReceiver(t);
  const { stripe, simulator } = await startSimulator(t, { webhookUrl: receiver.url });
  const price = await monthlyPrice(stripe, 1500);
  await simulator.pay((await subscribe(stripe, price)).id, '4000 0000 0000 0341');
  await simulator.advanceClock(32 * DAY);
  await allDelivered(simulator);

  const failed = ofType(receiver.delivered, 'invoice.payment_failed')[0]!.data.object as Stripe.Invoice;
  t.equal(failed.status, 'open');
  t.equal(failed.amount_paid, 0);
  t.equal(failed.billing_reason, 'subscription_cycle');
  const updated = ofType(receiver.delivered, 'customer.subscription.updated')[0]!;
  t.equal((updated.data.object as Stripe.Subscription).status, 'past_due');
  t.equal((updated.data.previous_attributes as { status?: string }).status, 'active');
  t.equal(ofType(receiver.delivered, 'invoice.paid').length, 1, 'only the first invoice was paid');
});

t.test('cancel_at_period_end, then the period ends: customer.subscription.deleted', async (t) => {
  const receiver = await startReceiver(t);
  const { stripe, simulator } = await startSimulator(t, { webhookUrl: receiver.url });
  const price = await monthlyPrice(stripe, 1500);
  const session = await subscribe(stripe, price);
  await simulator.pay(session.id);
  const subscriptionId = (await stripe.checkout.sessions.retrieve(session.id)).subscription as string;

  const canceling = await stripe.subscriptions.update(subscriptionId, { cancel_at_period_end: true });
  t.equal(canceling.cancel_at_period_end, true);
  t.equal(canceling.status, 'active');
  t.equal(canceling.cancel_at, canceling.items.data[0]!.current_period_end);

  await simulator.advanceClock(40 * DAY);
  await allDelivered(simulator);
  const deleted = ofType(receiver.delivered, 'customer.subscription.deleted')[0]!.data.object as Stripe.Subscription;
  t.equal(deleted.status, 'canceled');
  t.equal(deleted.ended_at, canceling.items.data[0]!.current_period_end);
  t.equal(ofType(receiver.delivered, 'invoice.paid').length, 1, 'no renewal invoice');
  const update = ofType(receiver.delivered, 'customer.subscription.updated')[0]!;
  t.same(update.data.previous_attributes, { cancel_at_period_end: false, cancel_at: null, canceled_at: null });
  t.same((await stripe.subscriptions.list({ customer: deleted.customer as string })).data, [], 'canceled ones are not listed by default');
  t.equal((await stripe.subscriptions.list({ status: 'canceled' })).data.length, 1);
});

t.test('changing the price and canceling now', async (t) => {
  const receiver = await startReceiver(t);
  const { stripe, simulator } = await startSimulator(t, { webhookUrl: receiver.url });
  const basic = await monthlyPrice(stripe, 1000);
  const pro = await monthlyPrice(stripe, 3000);
  const session = await subscribe(stripe, basic);
  await simulator.pay(session.id);
  const subscription = await stripe.subscriptions.retrieve((await stripe.checkout.sessions.retrieve(session.id)).subscription as string);

  const changed = await stripe.subscriptions.update(subscription.id, {
    items: [{ id: subscription.items.data[0]!.id, price: pro.id }],
    proration_behavior: 'always_invoice',
    metadata: { plan: 'pro' },
  });
  t.equal(changed.items.data[0]!.price.id, pro.id);
  t.equal(changed.items.data[0]!.current_period_end, subscription.items.data[0]!.current_period_end, 'same interval keeps the period');
  t.same(changed.metadata, { accountId: 'acc_9', plan: 'pro' });
  await allDelivered(simulator);
  const update = ofType(receiver.delivered, 'customer.subscription.updated')[0]!;
  const previousItems = (update.data.previous_attributes as { items: Stripe.ApiList<Stripe.SubscriptionItem> }).items;
  t.equal(previousItems.data[0]!.price.id, basic.id, 'previous_attributes has the old items');
  const prorations = await stripe.invoices.list({ subscription: subscription.id });
  const prorationInvoice = prorations.data.find((invoice) => invoice.billing_reason === 'subscription_update');
  t.ok(prorationInvoice && prorationInvoice.amount_paid > 0 && prorationInvoice.amount_paid <= 2000, 'always_invoice charges the prorated difference');
  const prorationLines = prorationInvoice!.lines.data.map((line) => [line.pricing?.price_details?.price, Math.sign(line.amount), line.period.end]);
  const end = subscription.items.data[0]!.current_period_end;
  t.same(prorationLines, [[basic.id, -1, end], [pro.id, 1, end]], "as Stripe: unused time on the old price, credited, and remaining time on the new one, to the period's end");
  t.equal(prorationInvoice!.lines.data.reduce((sum, line) => sum + line.amount, 0), prorationInvoice!.amount_paid);

  const unknownItem = await stripe.subscriptions.update(subscription.id, { items: [{ id: 'si_nope', price: pro.id }] }).catch((e: unknown) => e);
  t.ok(unknownItem instanceof Stripe.errors.StripeInvalidRequestError);

  const canceled = await stripe.subscriptions.cancel(subscription.id);
  t.equal(canceled.status, 'canceled');
  await allDelivered(simulator);
  await simulator.advanceClock(40 * DAY);
  t.equal((await stripe.invoices.list({ subscription: subscription.id })).data.length, 2, 'nothing renews after cancel');
});
