import t from 'tap';
import { build, ledgerSum } from '../helper.js';
import { account, billOf, createBill, grantsOf } from './fixtures.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('a cancel that looked at the old checkout while a reopen gave the bill a fresh one expires the fresh one too: nothing of a canceled bill can be paid', async (t) => {
  const ctx = await build(t); // not listening: the expiry's webhook is lost, the bill still reads open
  await account(ctx);
  const bill = await createBill(ctx, { name: 'Audit', amount: 40_000, credits: 300 });
  await ctx.stripe.checkout.sessions.expire(bill.checkoutSessionId); // as Stripe does at expires_at
  t.equal((await billOf(ctx, bill.id)).status, 'open', 'Tally has not heard of the expiry');

  // The cancel's look at the old checkout is slow; the reopen runs meanwhile.
  ctx.simulator.failNext({ method: 'GET', path: `/v1/checkout/sessions/${bill.checkoutSessionId}`, delayMs: 1500 });
  const cancel = ctx.call('POST', `/v1/bills/${bill.id}/cancel`);
  await sleep(300);
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
