import t from 'tap';
import { build, eventually, ledgerSum, type TestApp } from '../helper.js';
import { deliver, settled } from '../subscriptions/fixtures.js';
import { account, billOf, createBill, grantsOf } from './fixtures.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the request that failNext delays has reached Stripe: it is in its delay now, whatever the machine's speed. */
const atStripe = (ctx: TestApp) => eventually(async () => ctx.simulator.pendingFailures() === 0);

/**
 * A bill of 300 credits whose checkout Stripe expired (as at its expires_at), Tally not listening:
 * the expiry's webhook is lost, so the bill still reads open.
 */
async function billWithExpiredCheckout(t: Parameters<typeof build>[0]) {
  const ctx = await build(t);
  await account(ctx);
  const bill = await createBill(ctx, { name: 'Audit', amount: 40_000, credits: 300 });
  await ctx.stripe.checkout.sessions.expire(bill.checkoutSessionId);
  return { ctx, bill };
}

t.test('a cancel that looked at the old checkout while a reopen gave the bill a fresh one expires the fresh one too: nothing of a canceled bill can be paid', async (t) => {
  const { ctx, bill } = await billWithExpiredCheckout(t);
  t.equal((await billOf(ctx, bill.id)).status, 'open', 'Tally has not heard of the expiry');

  // The cancel's look at the old checkout is slow; the reopen runs meanwhile.
  ctx.simulator.failNext({ method: 'GET', path: `/v1/checkout/sessions/${bill.checkoutSessionId}`, delayMs: 3000 });
  const cancel = ctx.call('POST', `/v1/bills/${bill.id}/cancel`);
  await atStripe(ctx);
  const reopened = await ctx.call('POST', `/v1/bills/${bill.id}/checkout`);
  t.equal(reopened.status, 200, 'the reopen gave out a fresh checkout');
  const fresh = reopened.body.checkoutSessionId as string;
  const canceled = await cancel;
  t.equal(canceled.status, 200);
  t.equal(canceled.body.status, 'canceled', 'the cancel, answered last, canceled the bill');

  t.equal((await ctx.stripe.checkout.sessions.retrieve(fresh)).status, 'expired', "the reopen's checkout can no longer be paid");
  await t.rejects(ctx.simulator.pay(fresh), 'the customer who got its url cannot pay a canceled bill');
  await ctx.call('POST', `/v1/checkout/sessions/${fresh}/sync`);
  t.match(await billOf(ctx, bill.id), { status: 'canceled', paidAt: null, grantId: null });
  t.same(await grantsOf(ctx, 'acct_org'), []);
  t.equal(Number((await ledgerSum(ctx.database, 'acct_org')).available), 0);
});

/** The bill's checkouts that Stripe would still take a payment on. */
async function openAtStripe(ctx: Awaited<ReturnType<typeof build>>, billId: string) {
  const sessions = await ctx.stripe.checkout.sessions.list({ limit: 100 });
  return sessions.data.filter((session) => session.metadata?.tally_bill_id === billId && session.status === 'open').map((session) => session.id);
}

t.test('a reopen that a cancel overtook answers 409 bill_canceled and leaves no checkout open at Stripe', async (t) => {
  const { ctx, bill } = await billWithExpiredCheckout(t);

  // The reopen's new checkout is slow to come back from Stripe; the cancel runs meanwhile.
  ctx.simulator.failNext({ method: 'POST', path: '/v1/checkout/sessions', delayMs: 3000 });
  const reopen = ctx.call('POST', `/v1/bills/${bill.id}/checkout`);
  await atStripe(ctx);
  t.equal((await ctx.call('POST', `/v1/bills/${bill.id}/cancel`)).body.status, 'canceled');
  const reopened = await reopen;
  t.equal(reopened.status, 409, 'not a 200 showing a canceled bill');
  t.equal(reopened.body.error?.code, 'bill_canceled');
  t.same(await openAtStripe(ctx, bill.id), [], 'the checkout the reopen made was expired');
  t.equal((await billOf(ctx, bill.id)).status, 'canceled');
});

t.test('of two reopens at once, one checkout becomes the bill\'s; the other is expired at Stripe', async (t) => {
  const { ctx, bill } = await billWithExpiredCheckout(t);

  // The first reopen's checkout is slow; the second, a second later (another idempotency key at Stripe), wins.
  ctx.simulator.failNext({ method: 'POST', path: '/v1/checkout/sessions', delayMs: 4000 });
  const first = ctx.call('POST', `/v1/bills/${bill.id}/checkout`);
  await atStripe(ctx);
  await sleep(1100);
  const second = await ctx.call('POST', `/v1/bills/${bill.id}/checkout`);
  const late = await first;
  t.equal(second.status, 200);
  t.equal(late.status, 200);
  t.equal(late.body.checkoutSessionId, second.body.checkoutSessionId, 'both answer the checkout that became the bill\'s');
  t.same(await openAtStripe(ctx, bill.id), [second.body.checkoutSessionId], 'only that one can be paid');
});

t.test('two creates at once with one Idempotency-Key: one bill, and one checkout open at Stripe', async (t) => {
  const ctx = await build(t);
  await account(ctx);
  const body = { accountId: 'acct_org', name: 'Setup', amount: 5000, currency: 'usd', credits: 10 };
  ctx.simulator.failNext({ method: 'POST', path: '/v1/checkout/sessions', delayMs: 4000 });
  const first = ctx.call('POST', '/v1/bills', body, { 'idempotency-key': 'bill-race-1' });
  await atStripe(ctx);
  await sleep(1100);
  const second = await ctx.call('POST', '/v1/bills', body, { 'idempotency-key': 'bill-race-1' });
  const late = await first;
  t.same([second.status, late.status], [201, 201], 'both answer as a create does (a replay answers its first answer\'s status)');
  t.equal(late.body.id, second.body.id, 'one bill');
  t.equal(late.body.checkoutSessionId, second.body.checkoutSessionId, 'one checkout answered');
  t.same(await openAtStripe(ctx, second.body.id), [second.body.checkoutSessionId], 'the other checkout made was expired');
});

t.test('the success page, the webhook and its redeliveries at once: the bill is paid and granted once', async (t) => {
  const ctx = await build(t); // not listening: the test delivers
  await account(ctx);
  const bill = await createBill(ctx, { name: 'Audit', amount: 40_000, credits: 300 });
  await ctx.simulator.pay(bill.checkoutSessionId);
  const paid = await ctx.stripe.checkout.sessions.retrieve(bill.checkoutSessionId);
  const replies = await Promise.all([
    ctx.call('POST', `/v1/checkout/sessions/${bill.checkoutSessionId}/sync`),
    ctx.app.inject({ method: 'GET', url: `/checkout/success?session_id=${bill.checkoutSessionId}` }).then((reply) => ({ status: reply.statusCode })),
    ...[1, 2, 3].map(() => deliver(ctx, 'checkout.session.completed', paid, { id: 'evt_test_bill_paid' }).then(() => ({ status: 200 }))),
    deliver(ctx, 'checkout.session.completed', paid).then(() => ({ status: 200 })),
  ]);
  t.same(replies.map((reply) => reply.status), [200, 200, 200, 200, 200, 200]);
  await settled(ctx);
  t.match(await billOf(ctx, bill.id), { status: 'paid', grantId: /^grt_/ });
  t.same((await grantsOf(ctx, 'acct_org')).map((grant) => grant.amount), [300]);
  t.equal(Number((await ledgerSum(ctx.database, 'acct_org')).available), 300);
});

t.test('a bill paid at Stripe whose webhook was lost: a cancel or a reopen finds it paid (409 bill_paid) and records it paid', async (t) => {
  const ctx = await build(t);
  await account(ctx);
  const bill = await createBill(ctx, { name: 'Audit', amount: 40_000, credits: 300 });
  await ctx.simulator.pay(bill.checkoutSessionId);
  for (const path of ['cancel', 'checkout']) {
    const reply = await ctx.call('POST', `/v1/bills/${bill.id}/${path}`);
    t.equal(reply.status, 409);
    t.equal(reply.body.error.code, 'bill_paid', path);
  }
  t.match(await billOf(ctx, bill.id), { status: 'paid', canceledAt: null, grantId: /^grt_/ });
  t.same((await grantsOf(ctx, 'acct_org')).map((grant) => grant.amount), [300]);
});
