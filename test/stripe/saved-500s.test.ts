import t, { type Test } from 'tap';
import { build, eventually, key, type TestApp } from '../helper.js';
import { accountAndPack } from './fixtures.js';

// Stripe's v1 API saves a 500 under its idempotency key and replays it to every retry with that key
// for 24 h (the simulator's `saved` failures). Tally derives its Stripe keys from the client's
// Idempotency-Key and what it sends (or from the account, for its customer), so after a 500 the next
// attempt sends a key of its own (src/stripe/stripe-key-attempts.ts).

t.test("a bill's checkout has its own key each second: a retry after Stripe's saved 500 opens the bill", async (t) => {
  const ctx = await build(t);
  const { pack } = await accountAndPack(ctx, 'acct_bill_500');
  await ctx.call('POST', '/v1/checkout/sessions', { accountId: 'acct_bill_500', packId: pack.id }); // the customer, made
  const k = key('bill');
  const body = { accountId: 'acct_bill_500', name: 'Setup', amount: 5000, currency: 'usd' };
  ctx.simulator.failNext({ method: 'POST', path: '/v1/checkout/sessions', saved: true });
  t.equal((await ctx.call('POST', '/v1/bills', body, { 'idempotency-key': k })).status, 502);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const retried = await ctx.call('POST', '/v1/bills', body, { 'idempotency-key': k });
  t.equal(retried.status, 201, 'its expires_at, a second later, is in its Stripe key');
});

/** Sends `body` to `path` with a new Idempotency-Key while Stripe saves a 500 at `failing`, then sends it again with the key. */
async function retryAfterSaved500(ctx: TestApp, path: string, failing: string, body: Record<string, unknown>) {
  const k = key('saved-500');
  ctx.simulator.failNext({ method: 'POST', path: failing, saved: true });
  const failed = await ctx.call('POST', path, body, { 'idempotency-key': k });
  return { failed, retried: await ctx.call('POST', path, body, { 'idempotency-key': k }) };
}

t.test('a checkout retried with its Idempotency-Key after a saved 500 is opened', async (t) => {
  const ctx = await build(t);
  const { pack } = await accountAndPack(ctx, 'acct_500');
  const body = { accountId: 'acct_500', packId: pack.id };
  await ctx.call('POST', '/v1/checkout/sessions', body); // the customer, made
  const { failed, retried } = await retryAfterSaved500(ctx, '/v1/checkout/sessions', '/v1/checkout/sessions', body);
  t.equal(failed.status, 502);
  t.equal(retried.status, 201, `retried: ${JSON.stringify(retried.body)}`);
});

t.test('a pack retried with its Idempotency-Key after a saved 500 is created', async (t) => {
  const ctx = await build(t);
  const { failed, retried } = await retryAfterSaved500(ctx, '/v1/packs', '/v1/products', { name: 'Saved', credits: 10, unitAmount: 500, currency: 'usd' });
  t.equal(failed.status, 502);
  t.equal(retried.status, 201, `retried: ${JSON.stringify(retried.body)}`);
});

/** A checkout of a new account whose customer creation Stripe answers with a saved 500: a 502. Its body, to send again. */
async function checkoutAfterSaved500(t: Test, ctx: TestApp, accountId: string) {
  const { pack } = await accountAndPack(ctx, accountId);
  const body = { accountId, packId: pack.id };
  ctx.simulator.failNext({ method: 'POST', path: '/v1/customers', saved: true });
  t.equal((await ctx.call('POST', '/v1/checkout/sessions', body)).status, 502);
  return body;
}

t.test("an account whose customer creation got a saved 500 can check out again, with any key or none", async (t) => {
  const ctx = await build(t);
  const body = await checkoutAfterSaved500(t, ctx, 'acct_customer_500');
  const again = await ctx.call('POST', '/v1/checkout/sessions', body, { 'idempotency-key': key('fresh') });
  t.equal(again.status, 201, `a new request, a new key: ${JSON.stringify(again.body)}`);
});

/** The Stripe customers made for `accountId`, by their metadata. */
async function customersOf(ctx: TestApp, accountId: string) {
  const listed = await ctx.stripe.customers.list({ email: `${accountId}@example.com`, limit: 100 });
  return listed.data.filter((customer) => customer.metadata.tally_account_id === accountId);
}

t.test('after a saved 500, two creates at once move on to the same next key: one customer for both', async (t) => {
  const ctx = await build(t);
  const body = await checkoutAfterSaved500(t, ctx, 'acct_twice_500');
  const [one, two] = await Promise.all([
    ctx.call('POST', '/v1/checkout/sessions', body, { 'idempotency-key': key('one') }),
    ctx.call('POST', '/v1/checkout/sessions', body, { 'idempotency-key': key('two') }),
  ]);
  t.same([one.status, two.status], [201, 201], 'both checkouts open');
  const sessions = await Promise.all([one, two].map((reply) => ctx.stripe.checkout.sessions.retrieve(reply.body.id)));
  t.equal(sessions[0].customer, sessions[1].customer, 'for the same customer');
  t.equal((await customersOf(ctx, 'acct_twice_500')).length, 1, 'and Stripe has that one customer for the account');
  const attempts = await ctx.database.pool.query('SELECT attempt FROM stripe_key_attempts');
  t.same(attempts.rows, [{ attempt: 1 }], 'the key moved on once');
});

t.test('after a timeout the key stays: the retry gets the customer Stripe made, not a second one', async (t) => {
  const ctx = await build(t, { env: { STRIPE_TIMEOUT_MS: '1500', STRIPE_MAX_RETRIES: '0' } });
  const { pack } = await accountAndPack(ctx, 'acct_slow');
  const body = { accountId: 'acct_slow', packId: pack.id };
  ctx.simulator.failNext({ method: 'POST', path: '/v1/customers', delayMs: 3000 });
  t.equal((await ctx.call('POST', '/v1/checkout/sessions', body)).status, 503, 'Stripe did not answer in time');
  await eventually(async () => (await customersOf(ctx, 'acct_slow')).length > 0);
  t.equal((await customersOf(ctx, 'acct_slow')).length, 1, 'but made the customer');
  t.equal((await ctx.call('POST', '/v1/checkout/sessions', body)).status, 201, 'the retry opens the checkout');
  t.equal((await customersOf(ctx, 'acct_slow')).length, 1, 'with that customer: Stripe answered the same key with it');
  t.equal((await ctx.database.pool.query('SELECT 1 FROM stripe_key_attempts')).rowCount, 0, 'no attempt recorded');
});
