import t from 'tap';
import { reconcileOpenCheckouts } from '../../src/domain/checkout/reconcile-open-checkouts.js';
import { build, ledgerSum, type TestApp } from '../helper.js';
import { settled } from '../subscriptions/fixtures.js';
import { account, billOf, createBill, grantsOf, waitForBill } from './fixtures.js';

// A bill whose checkout Stripe does not know: made under another key or account (test mode's
// sessions after a switch to live, say). It can never be paid, and must not leave the bill stuck open.

/** Points the bill, and its checkout's record, at a session this Stripe account has never seen. */
async function loseSession(ctx: TestApp, bill: { id: string; checkoutSessionId: string }, gone: string) {
  await ctx.database.pool.query('UPDATE checkouts SET id = $2 WHERE id = $1', [bill.checkoutSessionId, gone]);
  await ctx.database.pool.query('UPDATE bills SET stripe_checkout_session_id = $2 WHERE id = $1', [bill.id, gone]);
}

async function checkoutStatus(ctx: TestApp, id: string): Promise<string> {
  const { rows } = await ctx.database.pool.query('SELECT status FROM checkouts WHERE id = $1', [id]);
  return rows[0].status;
}

t.test('the reconciler records the bill expired with its checkout; reopened, it is paid and granted once', async (t) => {
  const ctx = await build(t, { listen: true, env: { CHECKOUT_RECONCILE_AFTER_SECONDS: '0' } });
  await account(ctx);
  const bill = await createBill(ctx, { name: 'Audit', amount: 40_000, credits: 300 });
  const other = await createBill(ctx, { name: 'Support', amount: 20_000, credits: 100 });
  await loseSession(ctx, bill, 'cs_test_gone_1');

  const results = await reconcileOpenCheckouts(
    { pool: ctx.database.pool, checkouts: ctx.app.checkouts, logger: ctx.app.log },
    { olderThanSeconds: 0, batch: 100 },
  );
  t.same(results.map((r) => [r.id, r.status, r.problem]).sort(), [
    ['cs_test_gone_1', 'expired', 'unknown'],
    [other.checkoutSessionId, 'open', undefined],
  ].sort());
  t.equal(await checkoutStatus(ctx, 'cs_test_gone_1'), 'expired');
  t.match(await billOf(ctx, bill.id), { status: 'expired', url: null }, 'the bill is expired with its checkout');
  t.equal((await billOf(ctx, other.id)).status, 'open', 'a bill whose checkout Stripe knows is left open');

  const reopened = await ctx.call('POST', `/v1/bills/${bill.id}/checkout`, undefined, { key: ctx.serviceKey });
  t.equal(reopened.status, 200);
  t.match(reopened.body, { status: 'open', url: /\/checkout\/cs_/ });
  await ctx.simulator.pay(reopened.body.checkoutSessionId);
  await waitForBill(ctx, bill.id, 'paid');
  await settled(ctx);
  t.same((await grantsOf(ctx, 'acct_org')).map((g) => g.amount), [300], 'granted once');
  t.equal(Number((await ledgerSum(ctx.database, 'acct_org')).available), 300);
});

t.test('cancel: the bill is canceled without asking Stripe to expire what it does not know', async (t) => {
  const ctx = await build(t);
  await account(ctx);
  const bill = await createBill(ctx, { name: 'Training', amount: 10_000, credits: 10 });
  await loseSession(ctx, bill, 'cs_test_gone_2');

  const canceled = await ctx.call('POST', `/v1/bills/${bill.id}/cancel`, undefined, { key: ctx.serviceKey });
  t.equal(canceled.status, 200, JSON.stringify(canceled.body));
  t.match(canceled.body, { status: 'canceled', url: null });
  t.equal(await checkoutStatus(ctx, 'cs_test_gone_2'), 'expired', 'its checkout is no longer open');
  t.equal((await ctx.call('POST', `/v1/bills/${bill.id}/checkout`)).body.error.code, 'bill_canceled');
});

t.test('reopen: a bill still open on a session Stripe does not know gets a fresh checkout', async (t) => {
  const ctx = await build(t);
  await account(ctx);
  const bill = await createBill(ctx, { name: 'Migration', amount: 15_000, credits: 50 });
  await loseSession(ctx, bill, 'cs_test_gone_3');

  const reopened = await ctx.call('POST', `/v1/bills/${bill.id}/checkout`, undefined, { key: ctx.serviceKey });
  t.equal(reopened.status, 200, JSON.stringify(reopened.body));
  t.match(reopened.body, { status: 'open', url: /\/checkout\/cs_/ });
  t.not(reopened.body.checkoutSessionId, 'cs_test_gone_3');
  t.equal((await ctx.stripe.checkout.sessions.retrieve(reopened.body.checkoutSessionId)).status, 'open', 'Stripe knows the new one');
  const { rows } = await ctx.database.pool.query('SELECT id, status FROM checkouts WHERE bill_id = $1 ORDER BY created_at', [bill.id]);
  t.same(rows, [{ id: 'cs_test_gone_3', status: 'expired' }, { id: reopened.body.checkoutSessionId, status: 'open' }], 'both on record, only the new one open');
});
