import t from 'tap';
import { reconcileRefunds } from '../../src/domain/checkout/reconcile-refunds.js';
import { build, eventually, signedEvent, type TestApp } from '../helper.js';
import { accountAndPlan, handled } from '../subscriptions/fixtures.js';
import { accountAndPack, openCheckout, postEvent } from './fixtures.js';

const pass = (ctx: TestApp) => reconcileRefunds({ pool: ctx.database.pool, stripe: ctx.stripe, reversals: ctx.app.reversals, logger: ctx.app.log }, { olderThanSeconds: 0, batch: 50 });

const available = async (ctx: TestApp, accountId: string) => (await ctx.call('GET', `/v1/accounts/${accountId}/balance`)).body.available;

/**
 * A subscription sold at Stripe for an account this database does not have, without Tally's stamp
 * (sold before Tally stamped its objects, or by another Tally on the same Stripe account), paid and
 * refunded in full. Returns the refunded charge.
 */
async function refundedSubscriptionOfUnknownAccount(ctx: TestApp, stamp: Record<string, string> = {}): Promise<string> {
  const { plan } = await accountAndPlan(ctx, 'acct_org');
  const customer = await ctx.stripe.customers.create({ email: 'elsewhere@example.com' });
  const metadata = { tally_account_id: 'acct_elsewhere', tally_plan_id: plan.id, ...stamp };
  const session = await ctx.stripe.checkout.sessions.create({
    mode: 'subscription',
    customer: customer.id,
    line_items: [{ price: plan.stripePriceId, quantity: 1 }],
    success_url: 'https://example.com/ok',
    metadata: { ...metadata, tally_kind: 'subscription', tally_credits: '1000' },
    subscription_data: { metadata },
  });
  await ctx.simulator.pay(session.id);
  const paid = await ctx.stripe.checkout.sessions.retrieve(session.id);
  const [payment] = (await ctx.stripe.invoicePayments.list({ invoice: paid.invoice as string })).data;
  const paymentIntent = payment!.payment.payment_intent as string;
  const refund = await ctx.stripe.refunds.create({ payment_intent: paymentIntent });
  return refund.charge as string;
}

t.test('a refund no pass can take back anything for does not block the refunds after it', async (t) => {
  const ctx = await build(t); // not listening: no webhooks, only the reconciler
  const foreignCharge = await refundedSubscriptionOfUnknownAccount(ctx);
  await new Promise((resolve) => setTimeout(resolve, 1100)); // the pack's refund in a later second

  const { pack } = await accountAndPack(ctx);
  const checkout = await openCheckout(ctx, 'acct_buyer', pack.id);
  await ctx.simulator.pay(checkout.id);
  t.equal((await ctx.call('POST', `/v1/checkout/sessions/${checkout.id}/sync`)).status, 200);
  t.equal(await available(ctx, 'acct_buyer'), 500);
  const session = await ctx.stripe.checkout.sessions.retrieve(checkout.id);
  await ctx.stripe.refunds.create({ payment_intent: session.payment_intent as string });

  const first = await pass(ctx);
  t.notOk(first.failed, 'the pass is not stopped');
  t.ok(first.charges.includes(foreignCharge), "the unknown account's refund is handled: nothing to take back");
  t.equal(first.charges.length, 2, 'and the next refund too');
  await handled(ctx);
  t.equal(await available(ctx, 'acct_buyer'), 0, "the pack's refund took its 500 credits back");
  const { rows } = await ctx.database.pool.query("SELECT count(*)::int AS n FROM subscriptions WHERE account_id = 'acct_elsewhere'");
  t.equal(rows[0].n, 0, 'no subscription recorded for the unknown account');
});

t.test('the same refund by webhook: processed, not an event failing for ever, nothing written', async (t) => {
  const ctx = await build(t);
  const chargeId = await refundedSubscriptionOfUnknownAccount(ctx);
  const charge = await ctx.stripe.charges.retrieve(chargeId);
  t.equal((await postEvent(ctx, signedEvent(ctx.stripe, 'charge.refunded', charge, { id: 'evt_foreign_refund' }))).statusCode, 200);
  await handled(ctx);
  const row = (await ctx.database.pool.query("SELECT status, attempts, last_error FROM stripe_events WHERE id = 'evt_foreign_refund'")).rows[0];
  t.equal(row.status, 'processed', `processed (attempts ${row.attempts}, error: ${row.last_error})`);
  t.equal((await ctx.database.pool.query('SELECT count(*)::int AS n FROM subscriptions')).rows[0].n, 0, 'no subscription recorded');
  t.equal((await ctx.database.pool.query('SELECT count(*)::int AS n FROM grants')).rows[0].n, 0, 'nothing granted');
});

t.test('a refund a pass cannot handle for a reason that will not go away is logged as an error, and the pass goes on', async (t) => {
  const ctx = await build(t);
  const { pack } = await accountAndPack(ctx);
  const paymentIntents: string[] = [];
  for (let i = 0; i < 2; i++) {
    const checkout = await openCheckout(ctx, 'acct_buyer', pack.id);
    await ctx.simulator.pay(checkout.id);
    t.equal((await ctx.call('POST', `/v1/checkout/sessions/${checkout.id}/sync`)).status, 200);
    paymentIntents.push((await ctx.stripe.checkout.sessions.retrieve(checkout.id)).payment_intent as string);
  }
  const refunds = [];
  for (const paymentIntent of paymentIntents) {
    refunds.push(await ctx.stripe.refunds.create({ payment_intent: paymentIntent }));
    await new Promise((resolve) => setTimeout(resolve, 1100)); // each refund in a second of its own
  }
  // Stripe refuses the first charge as invalid: a 400, the same answer however often it is asked.
  ctx.simulator.failNext({ method: 'GET', path: '/v1/charges/', status: 400, error: { type: 'invalid_request_error', message: 'Refused', code: 'parameter_invalid' } });
  const result = await pass(ctx);
  t.notOk(result.failed, 'the pass is not stopped');
  t.same(result.skipped, [refunds[0]!.charge], 'the charge it could not handle is reported');
  t.same(result.charges, [refunds[1]!.charge], 'the next one is handled');
  t.equal(await available(ctx, 'acct_buyer'), 500, "the second pack's credits taken back");
  const line = ctx.logs.map((l) => JSON.parse(l)).find((l) => /could not reconcile a refund/.test(l.msg));
  t.match(line, { level: 50, chargeId: refunds[0]!.charge, refundId: refunds[0]!.id }, 'an error naming the charge and the refund');
});

t.test("a subscription stamped by this Tally for an account it does not have (yet) is its own: its event fails and is retried, and is recorded once the account is there", async (t) => {
  const ctx = await build(t);
  const chargeId = await refundedSubscriptionOfUnknownAccount(ctx, ctx.app.instance.stamp);
  const charge = await ctx.stripe.charges.retrieve(chargeId);
  t.equal((await postEvent(ctx, signedEvent(ctx.stripe, 'charge.refunded', charge, { id: 'evt_own_refund' }))).statusCode, 200);
  const event = async () => (await ctx.database.pool.query("SELECT status, attempts FROM stripe_events WHERE id = 'evt_own_refund'")).rows[0];
  await eventually(async () => (await event()).attempts >= 2);
  t.not((await event()).status, 'processed', 'failing, and retried');
  t.equal((await ctx.call('PUT', '/v1/accounts/acct_elsewhere', {})).status, 201, 'the account made');
  await eventually(async () => (await event()).status === 'processed');
  t.equal((await ctx.database.pool.query("SELECT count(*)::int AS n FROM subscriptions WHERE account_id = 'acct_elsewhere'")).rows[0].n, 1, 'the subscription recorded');
  t.equal(await available(ctx, 'acct_elsewhere'), 0, 'its period granted, then taken back by the refund');
});
