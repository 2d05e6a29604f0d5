import t from 'tap';
import { build, key, type TestApp } from '../helper.js';
import { accountAndPack } from './fixtures.js';

// Stripe's v1 API saves a 500 under its idempotency key and replays it to every retry with that key
// for 24 h (the simulator's `saved` failures). Tally derives its Stripe keys from the client's
// Idempotency-Key and what it sends, so a client's retry sends Stripe the key whose answer is a 500.
const TODO = "Tally's Stripe key for this create is fixed by the request (or the account), so Stripe's saved 500 answers every retry for 24 h (README, Idempotency)";

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

t.test('a checkout retried with its Idempotency-Key after a saved 500 is opened', { todo: TODO }, async (t) => {
  const ctx = await build(t);
  const { pack } = await accountAndPack(ctx, 'acct_500');
  const body = { accountId: 'acct_500', packId: pack.id };
  await ctx.call('POST', '/v1/checkout/sessions', body); // the customer, made
  const { failed, retried } = await retryAfterSaved500(ctx, '/v1/checkout/sessions', '/v1/checkout/sessions', body);
  t.equal(failed.status, 502);
  t.equal(retried.status, 201, `retried: ${JSON.stringify(retried.body)}`);
});

t.test('a pack retried with its Idempotency-Key after a saved 500 is created', { todo: TODO }, async (t) => {
  const ctx = await build(t);
  const { failed, retried } = await retryAfterSaved500(ctx, '/v1/packs', '/v1/products', { name: 'Saved', credits: 10, unitAmount: 500, currency: 'usd' });
  t.equal(failed.status, 502);
  t.equal(retried.status, 201, `retried: ${JSON.stringify(retried.body)}`);
});

t.test("an account whose customer creation got a saved 500 can check out again, with any key or none", { todo: TODO }, async (t) => {
  const ctx = await build(t);
  const { pack } = await accountAndPack(ctx, 'acct_customer_500');
  const body = { accountId: 'acct_customer_500', packId: pack.id };
  ctx.simulator.failNext({ method: 'POST', path: '/v1/customers', saved: true });
  t.equal((await ctx.call('POST', '/v1/checkout/sessions', body)).status, 502);
  const again = await ctx.call('POST', '/v1/checkout/sessions', body, { 'idempotency-key': key('fresh') });
  t.equal(again.status, 201, `a new request, a new key: ${JSON.stringify(again.body)}`);
});
