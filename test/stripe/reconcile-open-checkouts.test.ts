import t from 'tap';
import { loadConfig } from '../../src/config.js';
import { PENDING_PAYMENT_DAYS, reconcileOpenCheckouts } from '../../src/domain/checkout/reconcile-open-checkouts.js';
import type { ReconcileOptions } from '../../src/stripe/reconciler.js';
import { account, billOf, createBill } from '../bills/fixtures.js';
import { startOwnServer } from '../database.js';
import { build, eventually, ledgerSum, type TestApp } from '../helper.js';
import { accountAndPlan, settled, subscribe, subscriptionOf } from '../subscriptions/fixtures.js';
import { accountAndPack, grantsOf, openCheckout } from './fixtures.js';

const NOW = { CHECKOUT_RECONCILE_AFTER_SECONDS: '0' };

/** One reconciler pass, with the app's settings unless told otherwise. */
function pass(ctx: TestApp, options: Partial<ReconcileOptions> = {}) {
  return reconcileOpenCheckouts(
    { pool: ctx.database.pool, checkouts: ctx.app.checkouts, logger: ctx.app.log },
    { olderThanSeconds: ctx.config.CHECKOUT_RECONCILE_AFTER_SECONDS, batch: ctx.config.CHECKOUT_RECONCILE_BATCH, ...options },
  );
}

/** Tally listening, with Stripe's webhooks held back until `deliverLateWebhooks`. */
async function withoutWebhooks(t: Parameters<typeof build>[0]) {
  const ctx = await build(t, { listen: true, env: NOW });
  ctx.simulator.setWebhookUrl(undefined);
  return ctx;
}

async function deliverLateWebhooks(ctx: TestApp) {
  ctx.simulator.setWebhookUrl(`${ctx.url}/v1/webhooks/stripe`);
  await settled(ctx);
}

async function statusOf(ctx: TestApp, id: string): Promise<string> {
  return (await ctx.call('GET', `/v1/checkout/sessions/${id}`)).body.status;
}

async function available(ctx: TestApp, accountId: string): Promise<number> {
  return (await ctx.call('GET', `/v1/accounts/${accountId}/balance`)).body.available;
}

async function processedEvents(ctx: TestApp, type: string): Promise<number> {
  const { rows } = await ctx.database.pool.query("SELECT count(*)::int AS n FROM stripe_events WHERE type = $1 AND status = 'processed'", [type]);
  return rows[0].n;
}

/** Makes checkouts look opened an hour ago. */
async function age(ctx: TestApp, ids: string[]) {
  await ctx.database.pool.query("UPDATE checkouts SET created_at = created_at - interval '1 hour' WHERE id = ANY($1)", [ids]);
}

t.test('a pack paid with no webhook and no sync: one pass grants it; another pass and the late webhooks grant nothing more', async (t) => {
  const ctx = await withoutWebhooks(t);
  const { pack } = await accountAndPack(ctx);
  const checkout = await openCheckout(ctx, 'acct_buyer', pack.id);
  await ctx.simulator.pay(checkout.id);
  t.equal(await statusOf(ctx, checkout.id), 'open', 'Tally has not heard of the payment');

  t.same(await pass(ctx), [{ id: checkout.id, status: 'complete', granted: true }]);
  t.equal(await available(ctx, 'acct_buyer'), 500, "the pack's credits");
  t.match((await ctx.call('GET', `/v1/checkout/sessions/${checkout.id}`)).body, { status: 'complete', fulfilled: true });

  t.same(await pass(ctx), [], 'a second pass finds nothing open');
  await deliverLateWebhooks(ctx);
  t.equal(await processedEvents(ctx, 'checkout.session.completed'), 1, 'the late webhook arrived and was processed');
  const grants = await grantsOf(ctx, 'acct_buyer');
  t.same(grants.map((g) => g.source_key), [`checkout:${checkout.id}`], 'one grant');
  t.equal(Number((await ledgerSum(ctx.database, 'acct_buyer')).available), 500);
});

t.test('a subscription paid with no webhook: one pass records it and grants its first period, once', async (t) => {
  const ctx = await withoutWebhooks(t);
  const { plan } = await accountAndPlan(ctx, 'acct_org', { credits: 1000 });
  const { checkout, subscriptionId } = await subscribe(ctx, 'acct_org', plan.id);
  t.equal(await statusOf(ctx, checkout.id), 'open');

  t.same(await pass(ctx), [{ id: checkout.id, status: 'complete', granted: true }]);
  const subscriptions = async () => (await ctx.database.pool.query('SELECT stripe_subscription_id FROM subscriptions WHERE account_id = $1', ['acct_org'])).rows;
  t.same(await subscriptions(), [{ stripe_subscription_id: subscriptionId }], 'one subscription');
  t.equal(await available(ctx, 'acct_org'), 1000, "the first period's credits");

  t.same(await pass(ctx), []);
  await deliverLateWebhooks(ctx);
  t.equal(await processedEvents(ctx, 'invoice.paid'), 1, "the late invoice.paid was processed");
  t.same(await subscriptions(), [{ stripe_subscription_id: subscriptionId }], 'still one subscription');
  t.equal(await available(ctx, 'acct_org'), 1000, 'one grant');
  t.match(await subscriptionOf(ctx, 'acct_org'), { status: 'active', currentPeriodCredits: 1000 });
});

/** A bill of 10 credits for $100, Tally not listening: Stripe's webhooks about it go nowhere. */
async function billWithoutWebhooks(t: Parameters<typeof build>[0]) {
  const ctx = await build(t, { env: NOW });
  await account(ctx);
  return { ctx, bill: await createBill(ctx, { name: 'Training', amount: 10_000, credits: 10 }) };
}

t.test('a bill paid with no webhook: a pass marks it paid and grants its credits', async (t) => {
  const { ctx, bill } = await billWithoutWebhooks(t);
  await ctx.simulator.pay(bill.checkoutSessionId);

  t.same(await pass(ctx), [{ id: bill.checkoutSessionId, status: 'complete', granted: true }]);
  t.equal((await billOf(ctx, bill.id)).status, 'paid');
  t.equal(await available(ctx, 'acct_org'), 10);
});

t.test('a bill whose bank debit failed with no webhook: a pass records the bill expired, so it can be reopened; nothing granted', async (t) => {
  const { ctx, bill } = await billWithoutWebhooks(t);
  await ctx.simulator.payByBankDebit(bill.checkoutSessionId);
  t.same(await pass(ctx), [{ id: bill.checkoutSessionId, status: 'complete', granted: false }]);
  t.equal((await billOf(ctx, bill.id)).status, 'open', 'pending: still open');

  await ctx.simulator.settleBankDebit(bill.checkoutSessionId, false);
  t.same(await pass(ctx), [{ id: bill.checkoutSessionId, status: 'complete', granted: false }]);
  t.equal((await billOf(ctx, bill.id)).status, 'expired', 'failed: the bill expired');
  t.equal(await available(ctx, 'acct_org'), 0);
  t.equal((await ctx.call('POST', `/v1/bills/${bill.id}/checkout`)).status, 200, 'and can be reopened');
});

t.test('a checkout left unpaid until it expires at Stripe: a pass records it expired, grants nothing', async (t) => {
  const ctx = await build(t, { env: NOW });
  const { pack } = await accountAndPack(ctx);
  const checkout = await openCheckout(ctx, 'acct_buyer', pack.id);
  await ctx.simulator.advanceClock(25 * 3600);

  t.same(await pass(ctx), [{ id: checkout.id, status: 'expired', granted: false }]);
  t.equal(await statusOf(ctx, checkout.id), 'expired');
  t.same(await grantsOf(ctx, 'acct_buyer'), []);
  t.same(await pass(ctx), [], 'and it is not asked about again');
});

t.test('a bank debit, with its webhooks: complete and unpaid grants nothing; async_payment_succeeded grants, once', async (t) => {
  const ctx = await build(t, { listen: true });
  const { pack } = await accountAndPack(ctx);
  const checkout = await openCheckout(ctx, 'acct_buyer', pack.id);
  await ctx.simulator.payByBankDebit(checkout.id);
  await settled(ctx);
  t.match((await ctx.call('GET', `/v1/checkout/sessions/${checkout.id}`)).body, { status: 'complete', fulfilled: false });
  t.equal(await available(ctx, 'acct_buyer'), 0, 'no credits while the debit is in flight');

  await ctx.simulator.settleBankDebit(checkout.id, true);
  await settled(ctx);
  t.match((await ctx.call('GET', `/v1/checkout/sessions/${checkout.id}`)).body, { status: 'complete', fulfilled: true });
  t.equal(await available(ctx, 'acct_buyer'), 500);
  t.equal((await grantsOf(ctx, 'acct_buyer')).length, 1);
});

t.test('a bank debit whose async_payment_succeeded is lost: passes ask while it is pending, and the one after it clears grants, once', async (t) => {
  const ctx = await withoutWebhooks(t);
  const { pack } = await accountAndPack(ctx);
  const checkout = await openCheckout(ctx, 'acct_buyer', pack.id);
  await ctx.simulator.payByBankDebit(checkout.id);

  t.same(await pass(ctx), [{ id: checkout.id, status: 'complete', granted: false }], 'complete at Stripe, the money not there yet');
  t.same(await pass(ctx), [{ id: checkout.id, status: 'complete', granted: false }], 'asked about again while the payment is pending');
  t.equal(await available(ctx, 'acct_buyer'), 0);

  await ctx.simulator.settleBankDebit(checkout.id, true);
  t.same(await pass(ctx), [{ id: checkout.id, status: 'complete', granted: true }], 'the debit cleared: the pass grants');
  t.equal(await available(ctx, 'acct_buyer'), 500);
  t.same(await pass(ctx), [], 'a fulfilled checkout is not asked about again');

  await deliverLateWebhooks(ctx);
  t.equal(await processedEvents(ctx, 'checkout.session.async_payment_succeeded'), 1, 'the late webhook is handled');
  t.equal(await available(ctx, 'acct_buyer'), 500, 'and grants nothing more');
  t.equal((await grantsOf(ctx, 'acct_buyer')).length, 1);
});

t.test(`a bank debit that failed grants nothing, and is asked about for ${PENDING_PAYMENT_DAYS} days at most`, async (t) => {
  const ctx = await withoutWebhooks(t);
  const { pack } = await accountAndPack(ctx);
  const checkout = await openCheckout(ctx, 'acct_buyer', pack.id);
  await ctx.simulator.payByBankDebit(checkout.id);
  await ctx.simulator.settleBankDebit(checkout.id, false);

  t.same(await pass(ctx), [{ id: checkout.id, status: 'complete', granted: false }], 'a failed debit looks pending at Stripe: still asked about');
  await ctx.database.pool.query('UPDATE checkouts SET created_at = created_at - make_interval(days => $2) WHERE id = $1', [checkout.id, PENDING_PAYMENT_DAYS]);
  t.same(await pass(ctx), [], 'no longer, once older than the longest a payment stays pending');

  await deliverLateWebhooks(ctx);
  t.equal(await processedEvents(ctx, 'checkout.session.async_payment_failed'), 1);
  t.equal(await available(ctx, 'acct_buyer'), 0);
  t.same(await grantsOf(ctx, 'acct_buyer'), []);
});

t.test('young checkouts wait; old open ones go to the back of the queue, so small batches take turns', async (t) => {
  const ctx = await build(t); // CHECKOUT_RECONCILE_AFTER_SECONDS: the default 600
  const { pack } = await accountAndPack(ctx);
  const young = await openCheckout(ctx, 'acct_buyer', pack.id);
  const oldPaid = await openCheckout(ctx, 'acct_buyer', pack.id);
  const unpaid = [await openCheckout(ctx, 'acct_buyer', pack.id), await openCheckout(ctx, 'acct_buyer', pack.id)].map((c) => c.id);
  await ctx.simulator.pay(young.id);
  await ctx.simulator.pay(oldPaid.id);
  await age(ctx, [oldPaid.id, ...unpaid]);

  const first = await pass(ctx);
  t.same(first.map((r) => r.id).sort(), [oldPaid.id, ...unpaid].sort(), 'the young one is not asked about');
  t.match(first.find((r) => r.id === oldPaid.id), { status: 'complete', granted: true });
  t.equal(await statusOf(ctx, young.id), 'open', 'the young one stays open although it is paid at Stripe');
  t.same((await grantsOf(ctx, 'acct_buyer')).map((g) => g.source_key), [`checkout:${oldPaid.id}`]);

  const turns = [];
  for (let i = 0; i < 3; i++) turns.push(await pass(ctx, { batch: 1 }));
  const checked = turns.map((turn) => turn.map((r) => r.id));
  t.same(checked.map((ids) => ids.length), [1, 1, 1], 'one checkout a pass');
  t.same([...checked[0]!, ...checked[1]!].sort(), [...unpaid].sort(), 'the second pass checks the other one');
  t.same(checked[2], checked[0], 'then the first again');
  for (const id of unpaid) t.equal(await statusOf(ctx, id), 'open', 'still open at Stripe, still open in Tally');

  await age(ctx, [young.id]);
  t.match((await pass(ctx)).find((r) => r.id === young.id), { status: 'complete', granted: true }, 'once old enough, it is reconciled');
  t.equal(await available(ctx, 'acct_buyer'), 1000);
});

t.test('a session Stripe does not know, and a Stripe failure, do not stop the pass', async (t) => {
  const ctx = await build(t, { env: NOW });
  const { pack } = await accountAndPack(ctx);
  await ctx.database.pool.query(
    "INSERT INTO checkouts (id, account_id, kind, pack_id, credits, created_at, updated_at) VALUES ('cs_test_made_up', 'acct_buyer', 'pack', $1, 500, now() - interval '1 hour', now() - interval '1 hour')",
    [pack.id],
  );
  const flaky = await openCheckout(ctx, 'acct_buyer', pack.id);
  const paid = await openCheckout(ctx, 'acct_buyer', pack.id);
  await ctx.simulator.pay(flaky.id);
  await ctx.simulator.pay(paid.id);
  ctx.simulator.failNext({ method: 'GET', path: `/v1/checkout/sessions/${flaky.id}`, status: 500 });

  t.same(await pass(ctx), [
    { id: 'cs_test_made_up', status: 'expired', granted: false, problem: 'unknown' },
    { id: flaky.id, status: 'open', granted: false, problem: 'failed' },
    { id: paid.id, status: 'complete', granted: true },
  ]);
  t.equal(await statusOf(ctx, 'cs_test_made_up'), 'expired', 'recorded expired: never asked about again');
  t.ok(ctx.logs.some((line) => line.includes('cs_test_made_up') && line.includes('"level":40')), 'the unknown session is logged');
  t.ok(ctx.logs.some((line) => line.includes(flaky.id) && line.includes('could not reconcile')), 'the failure is logged');

  t.same(await pass(ctx), [{ id: flaky.id, status: 'complete', granted: true }], 'the next pass asks again about the one that failed');
  t.equal(await available(ctx, 'acct_buyer'), 1000);
});

t.test('the app runs passes every CHECKOUT_RECONCILE_INTERVAL_MS', async (t) => {
  const ctx = await build(t, { env: { ...NOW, CHECKOUT_RECONCILE_INTERVAL_MS: '100' } });
  const { pack } = await accountAndPack(ctx);
  const checkout = await openCheckout(ctx, 'acct_buyer', pack.id);
  await ctx.simulator.pay(checkout.id);
  await eventually(async () => (await statusOf(ctx, checkout.id)) === 'complete');
  t.equal(await available(ctx, 'acct_buyer'), 500);

  t.equal(loadConfig({ CHECKOUT_RECONCILE_INTERVAL_MS: '0' }).CHECKOUT_RECONCILE_INTERVAL_MS, 0, '0 turns it off');
  t.throws(() => loadConfig({ CHECKOUT_RECONCILE_INTERVAL_MS: '10' }), /CHECKOUT_RECONCILE_INTERVAL_MS: 0 \(off\) or at least 100/);
  t.match(loadConfig({}), { CHECKOUT_RECONCILE_INTERVAL_MS: 300_000, CHECKOUT_RECONCILE_AFTER_SECONDS: 600, CHECKOUT_RECONCILE_BATCH: 100 });
});

t.test('Stripe unreachable or rate limiting ends the pass at the checkout it met, for the next pass to take up', async (t) => {
  const ctx = await build(t, { env: NOW });
  const { pack } = await accountAndPack(ctx);
  for (let i = 0; i < 3; i++) await openCheckout(ctx, 'acct_buyer', pack.id);
  ctx.simulator.failNext({ method: 'GET', path: '/v1/checkout/sessions/', status: 429, error: { type: 'rate_limit_error', message: 'Too many requests', code: 'rate_limit' } });
  // Counts the retrievals that come after the refused one (a delay of 1 ms each, then answered).
  ctx.simulator.failNext({ method: 'GET', path: '/v1/checkout/sessions/', delayMs: 1, count: 10 });
  await t.rejects(pass(ctx), { code: 'stripe_rate_limited' }, 'the pass fails, as a refund pass does');
  t.equal(ctx.simulator.pendingFailures(), 10, 'no other checkout was asked about while Stripe limits Tally');
  t.same((await pass(ctx)).map((result) => result.status), ['open', 'open', 'open'], 'the next pass asks about all three');
});

t.test('a database that stops answering in the middle of a pass ends the pass there, for the next one to take up', async (t) => {
  const postgres = await startOwnServer(t);
  const ctx = await build(t, { env: NOW, databaseUrl: postgres.url });
  const { pack } = await accountAndPack(ctx);
  for (let i = 0; i < 3; i++) await openCheckout(ctx, 'acct_buyer', pack.id);
  ctx.simulator.failNext({ method: 'GET', path: '/v1/checkout/sessions/', delayMs: 60_000 }); // ended once PostgreSQL has stopped
  ctx.simulator.failNext({ method: 'GET', path: '/v1/checkout/sessions/', delayMs: 1, count: 10 }); // counts the retrievals after it
  const passing = pass(ctx);
  await eventually(async () => ctx.simulator.pendingFailures() === 10); // the first checkout is at Stripe
  await postgres.stop();
  ctx.simulator.endDelays();
  await t.rejects(passing, 'the pass fails, as one that cannot take its checkouts does');
  t.equal(ctx.simulator.pendingFailures(), 10, 'no other checkout was asked about');
  t.notOk(ctx.logs.some((line) => line.includes('could not reconcile an open checkout')), 'no warning for each checkout');
  await postgres.start();
  t.equal((await pass(ctx)).length, 3, 'back, the next pass asks about all three');
});
