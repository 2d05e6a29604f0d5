import t from 'tap';
import { build, eventually } from '../helper.js';
import { accountAndPack, openCheckout } from './fixtures.js';

/** acct_buyer (acct_buyer@example.com, Buyer) with its Stripe customer, made by a first checkout. */
const buyerWithCustomer = async (ctx: Awaited<ReturnType<typeof build>>) => {
  const { pack } = await accountAndPack(ctx);
  await openCheckout(ctx, 'acct_buyer', pack.id);
  return pack;
};

/** The PUT's send to Stripe has failed (it does not wait for it): logged. */
const sendFailed = (ctx: Awaited<ReturnType<typeof build>>) => eventually(async () => ctx.logs.some((line) => line.includes('did not reach its Stripe customer')));

/** The customer once it has these details (a PUT sends them without waiting), or as it is after 10 s. */
const customerComes = async (ctx: Awaited<ReturnType<typeof build>>, details: Record<string, string | null>) => {
  let customer = await stripeCustomerOf(ctx, 'acct_buyer');
  const matches = () => Object.entries(details).every(([field, value]) => (customer as Record<string, unknown>)[field] === value);
  for (const until = Date.now() + 10_000; !matches() && Date.now() < until; ) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    customer = await stripeCustomerOf(ctx, 'acct_buyer');
  }
  return customer;
};

const stripeCustomerOf = async (ctx: Awaited<ReturnType<typeof build>>, accountId: string) => {
  const id = (await ctx.call('GET', `/v1/accounts/${accountId}`)).body.stripeCustomerId as string;
  return ctx.stripe.customers.retrieve(id) as Promise<{ email: string | null; name: string | null }>;
};

t.test("an account's new email and name reach its Stripe customer (receipts, the portal, Checkout's prefill)", async (t) => {
  const ctx = await build(t);
  await buyerWithCustomer(ctx);
  t.match(await stripeCustomerOf(ctx, 'acct_buyer'), { email: 'acct_buyer@example.com', name: 'Buyer' }, 'the customer is made with the account\'s details');

  const put = await ctx.call('PUT', '/v1/accounts/acct_buyer', { email: 'ada@example.com', name: 'Ada' });
  t.equal(put.status, 200);
  t.match(await customerComes(ctx, { email: 'ada@example.com', name: 'Ada' }), { email: 'ada@example.com', name: 'Ada' }, 'the PUT carried them to Stripe');

  t.equal((await ctx.call('PUT', '/v1/accounts/acct_buyer', { email: null })).status, 200);
  t.match(await customerComes(ctx, { email: null }), { email: null, name: 'Ada' }, 'an email removed is removed at Stripe; the name left alone');
});

t.test('a change Stripe could not take at the PUT reaches it with the next checkout or portal', async (t) => {
  const ctx = await build(t);
  await buyerWithCustomer(ctx);
  ctx.simulator.failNext({ method: 'POST', path: '^/v1/customers/cus_', status: 500, error: { type: 'api_error', message: 'down' } });
  const put = await ctx.call('PUT', '/v1/accounts/acct_buyer', { email: 'ada@example.com' });
  t.equal(put.status, 200, 'the account is saved: Tally is where its details live');
  t.equal(put.body.email, 'ada@example.com');
  await sendFailed(ctx);
  t.match(await stripeCustomerOf(ctx, 'acct_buyer'), { email: 'acct_buyer@example.com' }, 'Stripe was not reached');

  t.equal((await ctx.call('POST', '/v1/portal/sessions', { accountId: 'acct_buyer' })).status, 201);
  t.match(await stripeCustomerOf(ctx, 'acct_buyer'), { email: 'ada@example.com' }, 'the portal carried it first');
});

t.test("a change made while the account's first customer was being made is not lost", async (t) => {
  const ctx = await build(t);
  const { pack } = await accountAndPack(ctx);
  // The customer's create is slow: the PUT commits while it is on its way, with the old email.
  ctx.simulator.failNext({ method: 'POST', path: '^/v1/customers$', delayMs: 2000 });
  const checkout = openCheckout(ctx, 'acct_buyer', pack.id);
  await eventually(async () => ctx.simulator.pendingFailures() === 0); // the create is at Stripe, in its delay
  t.equal((await ctx.call('PUT', '/v1/accounts/acct_buyer', { email: 'ada@example.com' })).status, 200);
  await checkout;
  t.equal((await ctx.call('POST', '/v1/portal/sessions', { accountId: 'acct_buyer' })).status, 201);
  t.match(await stripeCustomerOf(ctx, 'acct_buyer'), { email: 'ada@example.com' }, 'the customer has the email the account has');
  t.equal((await ctx.stripe.customers.list({ limit: 10 })).data.length, 1, 'one customer');
});

t.test("an email the customer changed in Stripe (the portal, the Dashboard) is not overwritten by a PUT that leaves it alone", async (t) => {
  const ctx = await build(t);
  await buyerWithCustomer(ctx);
  const id = (await ctx.call('GET', '/v1/accounts/acct_buyer')).body.stripeCustomerId as string;
  await ctx.stripe.customers.update(id, { email: 'chosen@example.com' });
  t.equal((await ctx.call('PUT', '/v1/accounts/acct_buyer', { metadata: { plan: 'x' } })).status, 200);
  t.equal((await ctx.call('PUT', '/v1/accounts/acct_buyer', { email: 'acct_buyer@example.com', name: 'Buyer' })).status, 200);
  t.equal((await ctx.call('POST', '/v1/portal/sessions', { accountId: 'acct_buyer' })).status, 201);
  t.match(await stripeCustomerOf(ctx, 'acct_buyer'), { email: 'chosen@example.com' }, 'the details Tally last sent are unchanged: nothing to send');
});

t.test("a PUT that changes only the name sends only the name: an email the customer chose in Stripe stays, until the account's own email changes", async (t) => {
  const ctx = await build(t);
  await buyerWithCustomer(ctx);
  const id = (await ctx.call('GET', '/v1/accounts/acct_buyer')).body.stripeCustomerId as string;
  await ctx.stripe.customers.update(id, { email: 'chosen@example.com' });
  t.equal((await ctx.call('PUT', '/v1/accounts/acct_buyer', { name: 'Ada' })).status, 200);
  t.match(await customerComes(ctx, { name: 'Ada' }), { email: 'chosen@example.com', name: 'Ada' }, 'the new name; the email the customer chose');
  t.equal((await ctx.call('PUT', '/v1/accounts/acct_buyer', { email: 'ada@example.com' })).status, 200);
  t.match(await customerComes(ctx, { email: 'ada@example.com' }), { email: 'ada@example.com', name: 'Ada' }, "the account's own new email");
});

t.test('details Stripe refuses do not stop the account buying: its checkout opens, on the customer as it was', async (t) => {
  const ctx = await build(t);
  const pack = await buyerWithCustomer(ctx);
  const refuse = { method: 'POST', path: '^/v1/customers/cus_', status: 400, count: 2, error: { type: 'invalid_request_error', message: 'Invalid email address: ada@example.com', code: 'email_invalid' } };
  ctx.simulator.failNext(refuse);
  t.equal((await ctx.call('PUT', '/v1/accounts/acct_buyer', { email: 'ada@example.com' })).status, 200);
  await sendFailed(ctx);
  const opened = await ctx.call('POST', '/v1/checkout/sessions', { accountId: 'acct_buyer', packId: pack.id });
  t.equal(opened.status, 201, `the checkout opens: ${JSON.stringify(opened.body)}`);
  t.match(await stripeCustomerOf(ctx, 'acct_buyer'), { email: 'acct_buyer@example.com' }, 'the customer as it was');
  t.equal((await ctx.call('POST', '/v1/portal/sessions', { accountId: 'acct_buyer' })).status, 201);
  t.match(await stripeCustomerOf(ctx, 'acct_buyer'), { email: 'ada@example.com' }, 'sent again when Stripe takes it');
});

t.test('a customer Stripe does not know when the new details are sent is made again, with them', async (t) => {
  const ctx = await build(t);
  await buyerWithCustomer(ctx);
  await ctx.database.pool.query("UPDATE accounts SET stripe_customer_id = 'cus_made_elsewhere' WHERE id = 'acct_buyer'");
  t.equal((await ctx.call('PUT', '/v1/accounts/acct_buyer', { email: 'ada@example.com' })).status, 200, 'the PUT saves the account');
  await sendFailed(ctx);
  t.equal((await ctx.call('POST', '/v1/portal/sessions', { accountId: 'acct_buyer' })).status, 201, 'the portal opens');
  const customer = await stripeCustomerOf(ctx, 'acct_buyer');
  t.match(customer, { email: 'ada@example.com', name: 'Buyer' }, 'on a new customer with the account\'s details');
});

t.test('saving an account does not wait on Stripe', async (t) => {
  const ctx = await build(t);
  await buyerWithCustomer(ctx);
  ctx.simulator.failNext({ method: 'POST', path: '^/v1/customers/cus_', delayMs: 2000 });
  const started = Date.now();
  t.equal((await ctx.call('PUT', '/v1/accounts/acct_buyer', { email: 'ada@example.com' })).status, 200);
  t.ok(Date.now() - started < 1500, `answered in ${Date.now() - started} ms, Stripe taking 2 s`);
  t.match(await customerComes(ctx, { email: 'ada@example.com' }), { email: 'ada@example.com' }, 'and Stripe has it after');
});

t.test('two changes close together: Stripe ends with the newer, whichever send reaches it last', async (t) => {
  const ctx = await build(t);
  await buyerWithCustomer(ctx);
  const sent = () => ctx.logs.filter((line) => line.includes("sent the account's email and name to its Stripe customer")).length;
  // The first change's send is slow on its way to Stripe: the second change's reaches Stripe first.
  ctx.simulator.failNext({ method: 'POST', path: '^/v1/customers/cus_', delayMs: 1500 });
  t.equal((await ctx.call('PUT', '/v1/accounts/acct_buyer', { email: 'first@example.com' })).status, 200);
  await eventually(async () => ctx.simulator.pendingFailures() === 0); // the first send is at Stripe, in its delay
  t.equal((await ctx.call('PUT', '/v1/accounts/acct_buyer', { email: 'second@example.com' })).status, 200);
  await eventually(async () => sent() === 2, 10_000);
  t.match(await stripeCustomerOf(ctx, 'acct_buyer'), { email: 'second@example.com' }, "once both sends are done, Stripe has the account's email");
  const row = await ctx.database.pool.query(`SELECT email, stripe_customer_email FROM accounts WHERE id = 'acct_buyer'`);
  t.same(row.rows, [{ email: 'second@example.com', stripe_customer_email: 'second@example.com' }], 'and Tally records that it has');
});
