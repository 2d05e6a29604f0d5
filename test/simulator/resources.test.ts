import Stripe from 'stripe';
import t from 'tap';
import { startSimulator } from './helper.js';

t.test('customers: create, retrieve, update, list with pagination', async (t) => {
  const { stripe } = await startSimulator(t);
  const created = await stripe.customers.create({ email: 'a@example.com', name: 'Ann', metadata: { accountId: 'acc_1' } });
  t.match(created.id, /^cus_/);
  t.equal(created.object, 'customer');
  t.equal(created.livemode, false);
  t.same(created.metadata, { accountId: 'acc_1' });

  const fetched = await stripe.customers.retrieve(created.id);
  t.equal((fetched as Stripe.Customer).email, 'a@example.com');

  const updated = await stripe.customers.update(created.id, { name: 'Anna', metadata: { accountId: '', plan: 'pro' } });
  t.equal(updated.name, 'Anna');
  t.same(updated.metadata, { plan: 'pro' }, 'an empty metadata value removes the key');

  for (let i = 0; i < 3; i++) await stripe.customers.create({ email: `c${i}@example.com` });
  const first = await stripe.customers.list({ limit: 2 });
  t.equal(first.object, 'list');
  t.equal(first.data.length, 2);
  t.equal(first.has_more, true);
  t.equal(first.data[0]?.email, 'c2@example.com', 'newest first');
  const rest = await stripe.customers.list({ limit: 10, starting_after: first.data[1]!.id });
  t.equal(rest.data.length, 2);
  t.equal(rest.has_more, false);
  const all: string[] = [];
  for await (const customer of stripe.customers.list({ limit: 1 })) all.push(customer.id);
  t.equal(all.length, 4, 'auto-pagination walks every page');
  const byEmail = await stripe.customers.list({ email: 'a@example.com' });
  t.same(byEmail.data.map((c) => c.id), [created.id]);
});

t.test('a deleted customer: answered as deleted by a retrieve, unknown to every other use', async (t) => {
  const { stripe } = await startSimulator(t);
  const customer = await stripe.customers.create({ email: 'a@example.com' });
  t.same(await stripe.customers.del(customer.id), { id: customer.id, object: 'customer', deleted: true });
  t.same(await stripe.customers.retrieve(customer.id), { id: customer.id, object: 'customer', deleted: true });
  await t.rejects(stripe.billingPortal.sessions.create({ customer: customer.id }), { code: 'resource_missing', param: 'customer' });
  await t.rejects(stripe.customers.update(customer.id, { name: 'x' }), { code: 'resource_missing' });
  await t.rejects(stripe.customers.del(customer.id), { code: 'resource_missing' });
});

t.test('unknown ids are 404 resource_missing', async (t) => {
  const { stripe } = await startSimulator(t);
  const error = await stripe.customers.retrieve('cus_nope').catch((e: unknown) => e);
  t.ok(error instanceof Stripe.errors.StripeInvalidRequestError);
  const stripeError = error as Stripe.errors.StripeInvalidRequestError;
  t.equal(stripeError.statusCode, 404);
  t.equal(stripeError.code, 'resource_missing');
  t.equal(stripeError.param, 'id');
});

t.test('an invalid API key is a 401 authentication_error', async (t) => {
  const { clientFor } = await startSimulator(t);
  const error = await clientFor({ key: 'sk_test_invalid_key' }).customers.list().catch((e: unknown) => e);
  t.ok(error instanceof Stripe.errors.StripeAuthenticationError);
  t.equal((error as Stripe.errors.StripeError).statusCode, 401);
  t.equal((error as Stripe.errors.StripeError).type, 'StripeAuthenticationError');
});

t.test('products and prices', async (t) => {
  const { stripe } = await startSimulator(t);
  const product = await stripe.products.create({ name: '1,000 credits', metadata: { credits: '1000' } });
  t.match(product.id, /^prod_/);
  t.equal(product.active, true);

  const renamed = await stripe.products.update(product.id, { name: '1k credits' });
  t.equal(renamed.name, '1k credits');
  t.equal((await stripe.products.retrieve(product.id)).name, '1k credits');

  const oneTime = await stripe.prices.create({
    product: product.id, unit_amount: 1000, currency: 'usd', lookup_key: 'credits_1k', nickname: 'One-off', metadata: { credits: '1000' },
  });
  t.match(oneTime.id, /^price_/);
  t.equal(oneTime.type, 'one_time');
  t.equal(oneTime.recurring, null);
  t.equal(oneTime.unit_amount, 1000);
  t.equal(oneTime.unit_amount_decimal?.toString(), '1000');

  const monthly = await stripe.prices.create({
    unit_amount: 2000, currency: 'usd', recurring: { interval: 'month' }, product_data: { name: 'Pro plan' },
  });
  t.equal(monthly.type, 'recurring');
  t.same(monthly.recurring && { interval: monthly.recurring.interval, count: monthly.recurring.interval_count }, { interval: 'month', count: 1 });
  t.not(monthly.product, product.id, 'product_data creates a product');

  const duplicate = await stripe.prices.create({ product: product.id, unit_amount: 1, currency: 'usd', lookup_key: 'credits_1k' }).catch((e: unknown) => e);
  t.ok(duplicate instanceof Stripe.errors.StripeInvalidRequestError, 'lookup keys are unique');

  const archived = await stripe.prices.update(oneTime.id, { active: false, metadata: { note: 'old' } });
  t.equal(archived.active, false);
  t.same(archived.metadata, { credits: '1000', note: 'old' });

  const active = await stripe.prices.list({ active: true });
  t.same(active.data.map((p) => p.id), [monthly.id]);
  const forProduct = await stripe.prices.list({ product: product.id });
  t.same(forProduct.data.map((p) => p.id), [oneTime.id]);
  const byKey = await stripe.prices.list({ lookup_keys: ['credits_1k'], expand: ['data.product'] });
  t.equal((byKey.data[0]?.product as Stripe.Product).name, '1k credits', 'expand works on list items');
});

t.test('params are validated like Stripe does', async (t) => {
  const { stripe } = await startSimulator(t);
  const missing = await stripe.products.create({} as Stripe.ProductCreateParams).catch((e: unknown) => e);
  t.ok(missing instanceof Stripe.errors.StripeInvalidRequestError);
  t.match(missing, { code: 'parameter_missing', param: 'name', statusCode: 400 });

  const unknown = await stripe.prices.create({
    currency: 'usd', unit_amount: 5, product_data: { name: 'x', colour: 'red' },
  } as unknown as Stripe.PriceCreateParams).catch((e: unknown) => e);
  t.match(unknown, { code: 'parameter_unknown', param: 'product_data[colour]' });

  const notInteger = await stripe.prices.create({
    currency: 'usd', unit_amount: 'lots', product_data: { name: 'x' },
  } as unknown as Stripe.PriceCreateParams).catch((e: unknown) => e);
  t.match(notInteger, { code: 'parameter_invalid_integer', param: 'unit_amount' });
});
