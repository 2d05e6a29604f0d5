import Stripe from 'stripe';
import t from 'tap';
import { startSimulator } from './helper.js';

const success_url = 'https://tally.test/success?session={CHECKOUT_SESSION_ID}';
const cancel_url = 'https://tally.test/cancel';

t.test('create, retrieve with line_items, list line items, expire', async (t) => {
  const { stripe, url, simulator } = await startSimulator(t);
  const customer = await stripe.customers.create({ email: 'buyer@example.com' });
  const session = await stripe.checkout.sessions.create({
    mode: 'payment',
    customer: customer.id,
    client_reference_id: 'acc_42',
    metadata: { accountId: 'acc_42', credits: '1000' },
    payment_intent_data: { metadata: { accountId: 'acc_42' } },
    line_items: [
      { quantity: 2, price_data: { currency: 'usd', unit_amount: 500, product_data: { name: '500 credits' } } },
    ],
    success_url,
    cancel_url,
  });
  t.match(session.id, /^cs_test_/);
  t.equal(session.object, 'checkout.session');
  t.equal(session.url, `${url}/checkout/${session.id}`);
  t.equal(session.status, 'open');
  t.equal(session.payment_status, 'unpaid');
  t.equal(session.amount_total, 1000);
  t.equal(session.amount_subtotal, 1000);
  t.equal(session.currency, 'usd');
  t.equal(session.customer, customer.id);
  t.equal(session.success_url, success_url, 'the {CHECKOUT_SESSION_ID} template is kept');
  t.ok(Math.abs(session.expires_at - (simulator.now() + 24 * 3600)) <= 1, 'expires in 24 hours by default');
  t.same(session.metadata, { accountId: 'acc_42', credits: '1000' });
  t.equal(session.line_items, undefined, 'line_items only when expanded');

  const expanded = await stripe.checkout.sessions.retrieve(session.id, { expand: ['line_items', 'customer'] });
  t.equal(expanded.line_items?.data.length, 1);
  const item = expanded.line_items!.data[0]!;
  t.equal(item.object, 'item');
  t.equal(item.quantity, 2);
  t.equal(item.amount_total, 1000);
  t.equal(item.description, '500 credits');
  t.equal((expanded.customer as Stripe.Customer).email, 'buyer@example.com');

  const lineItems = await stripe.checkout.sessions.listLineItems(session.id);
  t.same(lineItems.data.map((i) => i.id), [item.id]);
  t.equal(lineItems.url, `/v1/checkout/sessions/${session.id}/line_items`);

  const listed = await stripe.checkout.sessions.list({ customer: customer.id });
  t.same(listed.data.map((s) => s.id), [session.id]);

  const expired = await stripe.checkout.sessions.expire(session.id);
  t.equal(expired.status, 'expired');
  const again = await stripe.checkout.sessions.expire(session.id).catch((e: unknown) => e);
  t.ok(again instanceof Stripe.errors.StripeInvalidRequestError, 'only open sessions can be expired');

  const events = await stripe.events.list({ type: 'checkout.session.expired' });
  t.equal(events.data.length, 1);
  t.equal((events.data[0]!.data.object as Stripe.Checkout.Session).id, session.id);
  t.equal(events.data[0]!.api_version, '2026-10-28.endive');
});

t.test('unknown params, including nested ones, are parameter_unknown', async (t) => {
  const { stripe } = await startSimulator(t);
  const nested = await stripe.checkout.sessions.create({
    mode: 'payment', success_url,
    line_items: [{ quantity: 1, price_data: { currency: 'usd', unit_amount: 100, product_data: { name: 'x', flavour: 'mint' } } }],
  } as unknown as Stripe.Checkout.SessionCreateParams).catch((e: unknown) => e);
  t.ok(nested instanceof Stripe.errors.StripeInvalidRequestError);
  t.match(nested, { statusCode: 400, code: 'parameter_unknown', param: 'line_items[0][price_data][product_data][flavour]' });

  const removed = await stripe.checkout.sessions.create({
    mode: 'payment', success_url, payment_method_types: ['card'],
    line_items: [{ quantity: 1, price_data: { currency: 'usd', unit_amount: 100, product_data: { name: 'x' } } }],
  } as unknown as Stripe.Checkout.SessionCreateParams).catch((e: unknown) => e);
  t.match(removed, { code: 'parameter_unknown', param: 'payment_method_types' }, 'payment_method_types was removed in this API version');
});

t.test('missing params are parameter_missing', async (t) => {
  const { stripe } = await startSimulator(t);
  const noSuccessUrl = await stripe.checkout.sessions.create({
    mode: 'payment',
    line_items: [{ quantity: 1, price_data: { currency: 'usd', unit_amount: 100, product_data: { name: 'x' } } }],
  }).catch((e: unknown) => e);
  t.match(noSuccessUrl, { code: 'parameter_missing', param: 'success_url' });

  const noCurrency = await stripe.checkout.sessions.create({
    mode: 'payment', success_url,
    line_items: [{ quantity: 1, price_data: { unit_amount: 100, product_data: { name: 'x' } } }],
  } as unknown as Stripe.Checkout.SessionCreateParams).catch((e: unknown) => e);
  t.match(noCurrency, { code: 'parameter_missing', param: 'line_items[0][price_data][currency]' });

  const noMode = await stripe.checkout.sessions.create({ success_url } as Stripe.Checkout.SessionCreateParams).catch((e: unknown) => e);
  t.match(noMode, { code: 'parameter_missing', param: 'mode' });
});

t.test('expires_at must be between 30 minutes and 24 hours ahead', async (t) => {
  const { stripe, simulator } = await startSimulator(t);
  const base = {
    mode: 'payment' as const, success_url,
    line_items: [{ quantity: 1, price_data: { currency: 'usd', unit_amount: 100, product_data: { name: 'x' } } }],
  };
  for (const expires_at of [simulator.now() + 60, simulator.now() + 25 * 3600]) {
    const error = await stripe.checkout.sessions.create({ ...base, expires_at }).catch((e: unknown) => e);
    t.ok(error instanceof Stripe.errors.StripeInvalidRequestError);
    t.match(error, { statusCode: 400, param: 'expires_at' });
  }
  const expiresAt = simulator.now() + 3600;
  const ok = await stripe.checkout.sessions.create({ ...base, expires_at: expiresAt });
  t.equal(ok.expires_at, expiresAt, 'the given expiry is kept');

  await simulator.advanceClock(3601);
  t.equal((await stripe.checkout.sessions.retrieve(ok.id)).status, 'expired', 'open sessions expire with the clock');
  const expiredEvents = await stripe.events.list({ type: 'checkout.session.expired' });
  t.equal(expiredEvents.data.length, 1);
});

t.test('mode rules', async (t) => {
  const { stripe } = await startSimulator(t);
  const recurringInPayment = await stripe.checkout.sessions.create({
    mode: 'payment', success_url,
    line_items: [{ quantity: 1, price_data: { currency: 'usd', unit_amount: 100, recurring: { interval: 'month' }, product_data: { name: 'x' } } }],
  }).catch((e: unknown) => e);
  t.ok(recurringInPayment instanceof Stripe.errors.StripeInvalidRequestError);

  const creationInSubscription = await stripe.checkout.sessions.create({
    mode: 'subscription', success_url, customer_creation: 'always',
    line_items: [{ quantity: 1, price_data: { currency: 'usd', unit_amount: 100, recurring: { interval: 'month' }, product_data: { name: 'x' } } }],
  }).catch((e: unknown) => e);
  t.match(creationInSubscription, { param: 'customer_creation' });

  const unknownPrice = await stripe.checkout.sessions.create({
    mode: 'payment', success_url, line_items: [{ price: 'price_missing', quantity: 1 }],
  }).catch((e: unknown) => e);
  t.match(unknownPrice, { statusCode: 400, code: 'resource_missing', param: 'line_items[0][price]' });
});

t.test('a promotion code lowers what a session allowing them charges, and only such a session', async (t) => {
  const { stripe, simulator } = await startSimulator(t);
  const lineItems = [{ quantity: 1, price_data: { currency: 'usd', unit_amount: 500, product_data: { name: '500 credits' } } }];
  const plain = await stripe.checkout.sessions.create({ mode: 'payment', line_items: lineItems, success_url });
  await t.rejects(simulator.payWithPromotionCode(plain.id, 250), /does not accept promotion codes/);
  t.equal((await stripe.checkout.sessions.retrieve(plain.id)).status, 'open', 'refused: nothing paid');

  const session = await stripe.checkout.sessions.create({ mode: 'payment', line_items: lineItems, success_url, allow_promotion_codes: true });
  await t.rejects(simulator.payWithPromotionCode(session.id, 501), /does not apply/);
  await simulator.payWithPromotionCode(session.id, 250);
  const paid = await stripe.checkout.sessions.retrieve(session.id, { expand: ['line_items'] });
  t.match(paid, { status: 'complete', payment_status: 'paid', amount_subtotal: 500, amount_total: 250, total_details: { amount_discount: 250 } });
  t.match(paid.line_items!.data[0], { amount_subtotal: 500, amount_discount: 250, amount_total: 250 });
  const charges = await stripe.charges.list({ payment_intent: paid.payment_intent as string });
  t.equal(charges.data[0]!.amount, 250, 'the charge is for the discounted total');
});

t.test('ISK is charged in whole krónur: an amount not divisible by 100 is refused, as Stripe does since April 2023', async (t) => {
  const { stripe } = await startSimulator(t);
  const session = (unitAmount: number, quantity = 1) => stripe.checkout.sessions.create({
    mode: 'payment', success_url,
    line_items: [{ quantity, price_data: { currency: 'isk', unit_amount: unitAmount, product_data: { name: 'x' } } }],
  });
  const fractional = await session(4010).catch((e: unknown) => e);
  t.match(fractional, { statusCode: 400, type: 'StripeInvalidRequestError', code: 'invalid_charge_amount_no_decimal_compatible' });
  t.equal((await session(4000)).amount_total, 4000, 'ISK 40');
  t.equal((await session(4050, 2)).amount_total, 8100, 'what is charged counts (the total): two at ISK 40.50 make ISK 81');
});

t.test('billing portal sessions', async (t) => {
  const { stripe, url } = await startSimulator(t);
  const customer = await stripe.customers.create({ email: 'p@example.com' });
  const portal = await stripe.billingPortal.sessions.create({ customer: customer.id, return_url: 'https://tally.test/account' });
  t.match(portal.id, /^bps_/);
  t.equal(portal.object, 'billing_portal.session');
  t.equal(portal.url, `${url}/portal/${portal.id}`);
  t.equal(portal.customer, customer.id);
  t.equal(portal.return_url, 'https://tally.test/account');
  const missing = await stripe.billingPortal.sessions.create({} as Stripe.BillingPortal.SessionCreateParams).catch((e: unknown) => e);
  t.match(missing, { code: 'parameter_missing', param: 'customer' });
});
