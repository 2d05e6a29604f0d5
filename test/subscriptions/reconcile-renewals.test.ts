import t from 'tap';
import type Stripe from 'stripe';
import { reconcileRenewals } from '../../src/domain/subscriptions/reconcile-renewals.js';
import type { ReconcileOptions } from '../../src/stripe/reconciler.js';
import { build, eventually, ledgerSum, type TestApp } from '../helper.js';
import { accountAndPlan, advancePastPeriodEnd, grantsOf, settled, subscribe, subscriptionOf } from './fixtures.js';

const NOW = { CHECKOUT_RECONCILE_AFTER_SECONDS: '0' };

/** One renewal pass, with the app's settings unless told otherwise. */
function pass(ctx: TestApp, options: Partial<ReconcileOptions> = {}) {
  return reconcileRenewals(
    { pool: ctx.database.pool, prisma: ctx.app.db.prisma, stripe: ctx.app.stripe, subscriptionEvents: ctx.app.subscriptionEvents, logger: ctx.app.log },
    { olderThanSeconds: ctx.config.CHECKOUT_RECONCILE_AFTER_SECONDS, batch: ctx.config.CHECKOUT_RECONCILE_BATCH, ...options },
  );
}

/** Tally listening; `accounts` subscribed to one plan, their first periods granted by the webhooks. */
async function subscribed(t: Parameters<typeof build>[0], accounts: string[], env: Record<string, string> = NOW, terms: { rollover?: boolean } = {}) {
  const ctx = await build(t, { listen: true, env });
  const { plan } = await accountAndPlan(ctx, accounts[0], { credits: 1000, ...terms });
  const subscriptions: string[] = [];
  for (const accountId of accounts) {
    await ctx.call('PUT', `/v1/accounts/${accountId}`, { email: `${accountId}@example.com`, name: accountId });
    subscriptions.push((await subscribe(ctx, accountId, plan.id)).subscriptionId);
  }
  await settled(ctx);
  return { ctx, plan, subscriptions };
}

/** From now on Stripe's webhooks are held back, as by an endpoint that is down, until `deliverLateWebhooks`. */
function loseWebhooks(ctx: TestApp) {
  ctx.simulator.setWebhookUrl(undefined);
}

async function deliverLateWebhooks(ctx: TestApp) {
  ctx.simulator.setWebhookUrl(`${ctx.url}/v1/webhooks/stripe`);
  await settled(ctx);
}

/**
 * Makes Tally's record say the period ended `secondsAgo` (and, when told, that the row was last
 * checked `checkedSecondsAgo`): only the simulator's clock moves, Tally judges by the real one.
 */
async function endRecordedPeriod(ctx: TestApp, subscriptionId: string, secondsAgo = 3600, checkedSecondsAgo?: number) {
  await ctx.database.pool.query(
    'UPDATE subscriptions SET current_period_end = now() - make_interval(secs => $2), updated_at = coalesce(now() - make_interval(secs => $3), updated_at) WHERE stripe_subscription_id = $1',
    [subscriptionId, secondsAgo, checkedSecondsAgo ?? null],
  );
}

async function paidInvoices(ctx: TestApp, subscriptionId: string): Promise<Stripe.Invoice[]> {
  const { data } = await ctx.stripe.invoices.list({ subscription: subscriptionId, status: 'paid', limit: 100 });
  return data.sort((a, b) => a.created - b.created);
}

const periodKey = (subscriptionId: string, invoice: Stripe.Invoice) => `subscription:${subscriptionId}:period:${invoice.lines.data[0]!.period.end}:from:0`;

async function available(ctx: TestApp, accountId: string): Promise<number> {
  return (await ctx.call('GET', `/v1/accounts/${accountId}/balance`)).body.available;
}

async function processedEvents(ctx: TestApp, type: string): Promise<number> {
  const { rows } = await ctx.database.pool.query("SELECT count(*)::int AS n FROM stripe_events WHERE type = $1 AND status = 'processed'", [type]);
  return rows[0].n;
}

t.test('a renewal whose invoice.paid was lost: one pass grants it once; another pass and the late webhook grant nothing more', async (t) => {
  const { ctx, subscriptions: [subscriptionId] } = await subscribed(t, ['acct_org']);
  t.equal(await available(ctx, 'acct_org'), 1000, 'the first period, granted by its webhooks');
  loseWebhooks(ctx);
  await advancePastPeriodEnd(ctx, subscriptionId!);
  const [first, renewal] = await paidInvoices(ctx, subscriptionId!);
  t.ok(renewal, 'Stripe renewed and was paid');
  t.ok(ctx.simulator.pendingDeliveries() > 0, 'its webhooks are held back');
  await endRecordedPeriod(ctx, subscriptionId!);
  t.equal(await available(ctx, 'acct_org'), 1000, 'Tally has not heard of the renewal');

  t.same(await pass(ctx), [{ id: subscriptionId, status: 'active', grantedInvoices: [renewal!.id] }]);
  const keys = [periodKey(subscriptionId!, first!), periodKey(subscriptionId!, renewal!)];
  t.same((await grantsOf(ctx, 'acct_org')).map((g) => [g.source_key, g.amount]), keys.map((k) => [k, 1000]), 'the renewed period, granted once');
  t.match(await ledgerSum(ctx.database, 'acct_org'), { available: '2000', entries: 2 }, 'two grant entries in the ledger');
  t.match(await subscriptionOf(ctx, 'acct_org'), {
    status: 'active',
    currentPeriodEnd: new Date(renewal!.lines.data[0]!.period.end * 1000).toISOString(),
    currentPeriodCredits: 1000,
  }, "Stripe's new period is recorded");

  t.same(await pass(ctx), [], 'a second pass finds nothing due: Tally knows the new period');
  await endRecordedPeriod(ctx, subscriptionId!);
  t.same(await pass(ctx), [{ id: subscriptionId, status: 'active', grantedInvoices: [] }], 'asked again, Stripe says the same, and nothing is granted');

  await deliverLateWebhooks(ctx);
  t.equal(await processedEvents(ctx, 'invoice.paid'), 2, "the renewal's late invoice.paid arrived and was processed");
  t.same((await grantsOf(ctx, 'acct_org')).map((g) => g.source_key), keys, 'still one grant a period');
  t.match(await ledgerSum(ctx.database, 'acct_org'), { available: '2000', entries: 2 });
  t.equal(await available(ctx, 'acct_org'), 2000);
});

/** Tally records Stripe's current state of the subscription, as customer.subscription.updated would (it grants nothing). */
async function recordCurrentState(ctx: TestApp, subscriptionId: string) {
  const { rows } = await ctx.database.pool.query('SELECT state_at FROM subscriptions WHERE stripe_subscription_id = $1', [subscriptionId]);
  await ctx.app.subscriptionEvents.sync(subscriptionId, rows[0].state_at);
}

/** Makes Tally's record say the current period started `secondsAgo` by the real clock (only the simulator's moved). */
async function startRecordedPeriod(ctx: TestApp, subscriptionId: string, secondsAgo: number) {
  await ctx.database.pool.query('UPDATE subscriptions SET current_period_start = now() - make_interval(secs => $2) WHERE stripe_subscription_id = $1', [subscriptionId, secondsAgo]);
}

t.test('Tally heard of the new period but its invoice.paid was lost: the period without credits is asked about an hour after it started', async (t) => {
  const { ctx, subscriptions: [subscriptionId] } = await subscribed(t, ['acct_org']);
  loseWebhooks(ctx);
  await advancePastPeriodEnd(ctx, subscriptionId!);
  const [first, renewal] = await paidInvoices(ctx, subscriptionId!);
  t.ok(renewal, 'Stripe renewed and was paid');
  await recordCurrentState(ctx, subscriptionId!);
  t.match(await subscriptionOf(ctx, 'acct_org'), {
    currentPeriodEnd: new Date(renewal!.lines.data[0]!.period.end * 1000).toISOString(),
    currentPeriodCredits: 0,
  }, 'Tally records the new period, without its credits');

  await startRecordedPeriod(ctx, subscriptionId!, 30 * 60);
  t.same(await pass(ctx), [], 'half an hour in, Stripe may still be collecting: not asked');
  await ctx.database.pool.query("UPDATE subscriptions SET status = 'past_due' WHERE stripe_subscription_id = $1", [subscriptionId]);
  await startRecordedPeriod(ctx, subscriptionId!, 2 * 3600);
  t.same(await pass(ctx), [], 'a past-due one is not: its payment failed, Stripe said so');
  await ctx.database.pool.query("UPDATE subscriptions SET status = 'active' WHERE stripe_subscription_id = $1", [subscriptionId]);

  t.same(await pass(ctx), [{ id: subscriptionId, status: 'active', grantedInvoices: [renewal!.id] }], 'two hours in, active, without credits: asked, and granted');
  const keys = [periodKey(subscriptionId!, first!), periodKey(subscriptionId!, renewal!)];
  t.same((await grantsOf(ctx, 'acct_org')).map((g) => g.source_key), keys, 'one grant a period');
  t.match(await ledgerSum(ctx.database, 'acct_org'), { available: '2000', entries: 2 });
  t.match(await subscriptionOf(ctx, 'acct_org'), { currentPeriodCredits: 1000 });
  t.same(await pass(ctx), [], 'the period has its credits: no longer asked about');

  await deliverLateWebhooks(ctx);
  t.equal((await grantsOf(ctx, 'acct_org')).length, 2, 'the late invoice.paid grants nothing more');
  t.equal(await available(ctx, 'acct_org'), 2000);
});

t.test('three renewals missed while Tally heard nothing: one pass grants each, oldest first', async (t) => {
  const { ctx, subscriptions: [subscriptionId] } = await subscribed(t, ['acct_org'], NOW, { rollover: true });
  loseWebhooks(ctx);
  for (let period = 0; period < 3; period++) await advancePastPeriodEnd(ctx, subscriptionId!);
  const invoices = await paidInvoices(ctx, subscriptionId!);
  t.equal(invoices.length, 4, 'Stripe billed four periods');
  await endRecordedPeriod(ctx, subscriptionId!);

  t.same(await pass(ctx), [{ id: subscriptionId, status: 'active', grantedInvoices: invoices.slice(1).map((i) => i.id) }], 'not only the latest one');
  const grants = await grantsOf(ctx, 'acct_org');
  t.same(grants.map((g) => g.source_key), invoices.map((i) => periodKey(subscriptionId!, i)), 'one grant for each period');
  t.ok(grants.every((g) => g.amount === 1000 && g.expires_at === null), "each the plan's credits, rolling over");
  t.match(await ledgerSum(ctx.database, 'acct_org'), { available: '4000', entries: 4 });

  await deliverLateWebhooks(ctx);
  t.equal(await processedEvents(ctx, 'invoice.paid'), 4, 'the late webhooks were processed');
  t.equal((await grantsOf(ctx, 'acct_org')).length, 4, 'and granted nothing more');
});

t.test('only live subscriptions whose period ended longer ago than CHECKOUT_RECONCILE_AFTER_SECONDS are asked about', async (t) => {
  // CHECKOUT_RECONCILE_AFTER_SECONDS: the default 600
  const { ctx, subscriptions: [due, young, canceled] } = await subscribed(t, ['acct_due', 'acct_young', 'acct_canceled'], {});
  const subscriptionIds = [due!, young!, canceled!];
  const rows = async () => (await ctx.database.pool.query('SELECT id FROM subscriptions WHERE stripe_subscription_id = ANY($1)', [subscriptionIds])).rows;
  const canceledRow = (await ctx.database.pool.query('SELECT id FROM subscriptions WHERE stripe_subscription_id = $1', [canceled])).rows[0].id;
  t.equal((await ctx.call('POST', `/v1/subscriptions/${canceledRow}/cancel`, { atPeriodEnd: false })).status, 200);
  t.equal((await rows()).length, 3);
  loseWebhooks(ctx);
  await advancePastPeriodEnd(ctx, young!);
  await endRecordedPeriod(ctx, due!, 3600);
  await endRecordedPeriod(ctx, young!, 300);
  await endRecordedPeriod(ctx, canceled!, 3600);

  const [, dueRenewal] = await paidInvoices(ctx, due!);
  t.same(await pass(ctx), [{ id: due, status: 'active', grantedInvoices: [dueRenewal!.id] }], 'the young one and the canceled one are not asked about');
  t.equal((await paidInvoices(ctx, young!)).length, 2, 'the young one renewed at Stripe');
  t.equal((await grantsOf(ctx, 'acct_young')).length, 1, 'but it waits for its webhook a while longer');
  t.equal((await grantsOf(ctx, 'acct_canceled')).length, 1);
  t.match(await subscriptionOf(ctx, 'acct_canceled'), { status: 'canceled' });

  await endRecordedPeriod(ctx, young!, 601);
  const [, youngRenewal] = await paidInvoices(ctx, young!);
  t.same(await pass(ctx), [{ id: young, status: 'active', grantedInvoices: [youngRenewal!.id] }], 'once its period ended long enough ago, it is');
  t.equal(await available(ctx, 'acct_young'), 2000);
});

t.test('a Stripe failure, and a subscription Stripe does not know, do not stop the pass', async (t) => {
  const { ctx, plan, subscriptions: [flaky, good] } = await subscribed(t, ['acct_flaky', 'acct_good']);
  await ctx.call('PUT', '/v1/accounts/acct_other', { email: 'other@example.com', name: 'Other' });
  await ctx.database.pool.query(
    `INSERT INTO subscriptions (id, account_id, plan_id, stripe_subscription_id, stripe_customer_id, stripe_price_id, status, current_period_end, state_at, updated_at)
     VALUES ('subscr_made_up', 'acct_other', $1, 'sub_made_up', 'cus_made_up', $2, 'active', now() - interval '1 hour', 0, now() - interval '3 hours')`,
    [plan.id, plan.stripePriceId],
  );
  loseWebhooks(ctx);
  await advancePastPeriodEnd(ctx, good!);
  await endRecordedPeriod(ctx, flaky!, 3600, 7200);
  await endRecordedPeriod(ctx, good!, 3600, 3600);
  const [, flakyRenewal] = await paidInvoices(ctx, flaky!);
  const [, goodRenewal] = await paidInvoices(ctx, good!);
  ctx.simulator.failNext({ method: 'GET', path: `/v1/subscriptions/${flaky}`, status: 500 });

  t.same(await pass(ctx), [
    { id: 'sub_made_up', status: 'active', grantedInvoices: [], problem: 'unknown' },
    { id: flaky, status: 'active', grantedInvoices: [], problem: 'failed' },
    { id: good, status: 'active', grantedInvoices: [goodRenewal!.id] },
  ], 'least recently checked first');
  t.equal(await available(ctx, 'acct_good'), 2000, 'the one after the failure was granted');
  t.equal(await available(ctx, 'acct_flaky'), 1000);
  t.ok(ctx.logs.some((line) => line.includes('sub_made_up') && line.includes('"level":40') && line.includes('does not know')), 'the unknown one is logged');
  t.ok(ctx.logs.some((line) => line.includes(flaky!) && line.includes('could not reconcile')), 'the failure is logged');

  const second = await pass(ctx);
  t.same(second.map((r) => r.id).sort(), [flaky, 'sub_made_up'].sort(), 'the next pass asks again about both');
  t.same(second.find((r) => r.id === flaky), { id: flaky, status: 'active', grantedInvoices: [flakyRenewal!.id] }, 'and grants the one that failed');
  t.equal(await available(ctx, 'acct_flaky'), 2000);
  const madeUp = await ctx.database.pool.query("SELECT status FROM subscriptions WHERE id = 'subscr_made_up'");
  t.same(madeUp.rows, [{ status: 'active' }], 'the unknown one is left as it was, not canceled');
  t.same(await grantsOf(ctx, 'acct_other'), []);
});

t.test('small batches take turns, and the app runs a renewal pass on the checkout reconciler\'s timer', async (t) => {
  const { ctx, subscriptions } = await subscribed(t, ['acct_a', 'acct_b']);
  loseWebhooks(ctx);
  await advancePastPeriodEnd(ctx, subscriptions[1]!);
  const renewals = new Map<string, string>();
  for (const id of subscriptions) renewals.set(id, (await paidInvoices(ctx, id))[1]!.id);
  ctx.simulator.failNext({ method: 'GET', path: '/v1/subscriptions/', status: 500, count: 2 });
  for (const id of subscriptions) await endRecordedPeriod(ctx, id);
  const turns = [await pass(ctx, { batch: 1 }), await pass(ctx, { batch: 1 })];
  t.same(turns.map((turn) => turn.map((r) => r.problem)), [['failed'], ['failed']], 'one subscription a pass');
  t.same(turns.flat().map((r) => r.id).sort(), [...subscriptions].sort(), 'the second pass asks about the other one');
  const first = turns[0]![0]!.id;
  t.same(await pass(ctx, { batch: 1 }), [{ id: first, status: 'active', grantedInvoices: [renewals.get(first)] }], 'then the first again');

  const timed = await build(t, { listen: true, env: { ...NOW, CHECKOUT_RECONCILE_INTERVAL_MS: '100' } });
  loseWebhooks(timed);
  const { plan } = await accountAndPlan(timed, 'acct_org', { credits: 1000 });
  const { subscriptionId } = await subscribe(timed, 'acct_org', plan.id);
  await eventually(async () => (await available(timed, 'acct_org')) === 1000);
  await advancePastPeriodEnd(timed, subscriptionId);
  await endRecordedPeriod(timed, subscriptionId);
  await eventually(async () => (await available(timed, 'acct_org')) === 2000);
  t.equal((await grantsOf(timed, 'acct_org')).length, 2, 'the checkout pass granted the first period, the renewal pass the second');
  t.equal(timed.simulator.pendingDeliveries() > 0, true, 'with no webhook delivered');
});

t.test('Stripe unreachable or rate limiting ends the renewal pass at the subscription it met', async (t) => {
  const { ctx, subscriptions } = await subscribed(t, ['acct_a', 'acct_b']);
  loseWebhooks(ctx);
  for (const id of subscriptions) await endRecordedPeriod(ctx, id);
  ctx.simulator.failNext({ method: 'GET', path: '/v1/subscriptions/', status: 429, error: { type: 'rate_limit_error', message: 'Too many requests', code: 'rate_limit' } });
  ctx.simulator.failNext({ method: 'GET', path: '/v1/subscriptions/', delayMs: 1, count: 10 });
  await t.rejects(pass(ctx), { code: 'stripe_rate_limited' });
  t.equal(ctx.simulator.pendingFailures(), 10, 'the other subscription was not asked about');
  t.equal((await pass(ctx)).length, 2, 'the next pass asks about both');
});
