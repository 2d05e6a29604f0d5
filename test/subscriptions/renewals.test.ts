import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import t from 'tap';
import { build, eventually, ledgerSum, type TestApp } from '../helper.js';
import { firstOutcome } from '../stripe/fixtures.js';
import { accountAndPlan, advancePastPeriodEnd, deliver, grantsOf, openPlanCheckout, settled, subscribe, subscriptionOf } from './fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing; install it with apt-get install -y chromium`;

t.test('subscribe, pay on the page, three renewals: four grants, each expiring with its period', { skip }, async (t) => {
  const ctx = await build(t, { listen: true });
  const { plan } = await accountAndPlan(ctx, 'acct_org', { credits: 10_000, unitAmount: 2900 });
  const price = await ctx.stripe.prices.retrieve(plan.stripePriceId);
  t.match(price.recurring, { interval: 'month', interval_count: 1 }, 'the plan has a recurring Stripe price');

  const checkout = await openPlanCheckout(ctx, 'acct_org', plan.id);
  t.equal(checkout.kind, 'subscription');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  await page.goto(checkout.url);
  await Promise.all([page.waitForURL(/\/checkout\/success/), page.click('#pay')]);
  t.match(await page.textContent('#result'), /10000 credits were added/, "Tally's success page confirms the first period");

  const session = await ctx.stripe.checkout.sessions.retrieve(checkout.id);
  const subscriptionId = session.subscription as string;
  for (let period = 0; period < 3; period++) {
    await advancePastPeriodEnd(ctx, subscriptionId);
    await settled(ctx);
  }
  await settled(ctx);

  const invoices = (await ctx.stripe.invoices.list({ subscription: subscriptionId, limit: 100 })).data.sort((a, b) => a.created - b.created);
  t.equal(invoices.length, 4, 'Stripe billed four periods');
  t.ok(invoices.every((invoice) => invoice.status === 'paid'));
  const periodEnds = invoices.map((invoice) => invoice.lines.data[0]!.period.end);

  const grants = await eventually(async () => {
    const rows = await grantsOf(ctx, 'acct_org');
    return rows.length >= 4 && rows;
  });
  t.equal(grants.length, 4, 'exactly four grants');
  t.ok(grants.every((grant) => grant.amount === 10_000), 'each of the plan\'s credits');
  t.same(grants.map((grant) => grant.expires_at!.getTime() / 1000), periodEnds, "each expires at the end of its own period");
  t.equal(new Set(grants.map((grant) => grant.source_key)).size, 4);
  t.equal(Number((await ledgerSum(ctx.database, 'acct_org')).available), 40_000);

  const view = await subscriptionOf(ctx, 'acct_org');
  const latest = await ctx.stripe.subscriptions.retrieve(subscriptionId);
  t.match(view, {
    status: 'active',
    live: true,
    planId: plan.id,
    stripeSubscriptionId: subscriptionId,
    cancelAtPeriodEnd: false,
    currentPeriodEnd: new Date(latest.items.data[0]!.current_period_end * 1000).toISOString(),
    currentPeriodCredits: 10_000,
    nextGrant: { at: new Date(latest.items.data[0]!.current_period_end * 1000).toISOString(), credits: 10_000 },
  });
  const processed = await ctx.database.pool.query("SELECT type, count(*)::int AS n FROM stripe_events WHERE status = 'processed' GROUP BY type ORDER BY type");
  t.match(processed.rows, [
    { type: 'checkout.session.completed', n: 1 },
    { type: 'customer.subscription.created', n: 1 },
    { type: 'customer.subscription.updated', n: 3 },
    { type: 'invoice.paid', n: 4 },
  ]);
});

t.test('with rollover, period credits never expire', async (t) => {
  const ctx = await build(t, { listen: true });
  const { plan } = await accountAndPlan(ctx, 'acct_org', { credits: 300, rollover: true });
  const checkout = await openPlanCheckout(ctx, 'acct_org', plan.id);
  await ctx.simulator.pay(checkout.id);
  const subscriptionId = (await ctx.stripe.checkout.sessions.retrieve(checkout.id)).subscription as string;
  await settled(ctx);
  await advancePastPeriodEnd(ctx, subscriptionId);
  await settled(ctx);
  const grants = await grantsOf(ctx, 'acct_org');
  t.equal(grants.length, 2);
  t.ok(grants.every((grant) => grant.expires_at === null), 'no expiry');
  t.equal((await subscriptionOf(ctx, 'acct_org')).nextGrant.expiresAt, null);
});

t.test('checkout.session.completed and the first invoice.paid, in both orders and five times each: one grant', async (t) => {
  for (const order of ['invoice first', 'checkout first', 'all at once'] as const) {
    await t.test(order, async (t) => {
      const ctx = await build(t); // not listening: the simulator delivers nothing, the test does
      const { plan } = await accountAndPlan(ctx, 'acct_org', { credits: 1000 });
      const checkout = await openPlanCheckout(ctx, 'acct_org', plan.id);
      await ctx.simulator.pay(checkout.id);
      const session = await ctx.stripe.checkout.sessions.retrieve(checkout.id);
      const invoice = await ctx.stripe.invoices.retrieve(session.invoice as string);
      t.equal(invoice.status, 'paid');
      const completed = () => deliver(ctx, 'checkout.session.completed', session);
      const paid = () => deliver(ctx, 'invoice.paid', invoice);
      const times = (n: number, send: () => Promise<unknown>) => Array.from({ length: n }, send);
      if (order === 'invoice first') {
        await Promise.all(times(5, paid));
        await Promise.all(times(5, completed));
      } else if (order === 'checkout first') {
        await Promise.all(times(5, completed));
        await Promise.all(times(5, paid));
      } else {
        await Promise.all([...times(5, paid), ...times(5, completed)]);
      }
      await eventually(async () => {
        const { rows } = await ctx.database.pool.query("SELECT count(*)::int AS n FROM stripe_events WHERE status = 'processed'");
        return rows[0].n === 10;
      });
      const grants = await grantsOf(ctx, 'acct_org');
      t.equal(grants.length, 1, 'one grant for the first period');
      t.equal(grants[0]!.amount, 1000);
      t.equal(grants[0]!.expires_at!.getTime() / 1000, invoice.lines.data[0]!.period.end);
      t.match(await subscriptionOf(ctx, 'acct_org'), { status: 'active', currentPeriodCredits: 1000 });
      const view = await ctx.call('GET', `/v1/checkout/sessions/${checkout.id}`);
      t.match(view.body, { status: 'complete', fulfilled: true, planId: plan.id, grantId: grants[0]!.id });
    });
  }
});


t.test('an invoice.paid whose invoice is not paid grants nothing; the paid one then grants its period', async (t) => {
  const ctx = await build(t); // not listening: the test delivers the events
  const { plan } = await accountAndPlan(ctx, 'acct_org', { credits: 1000 });
  const { invoiceId } = await subscribe(ctx, 'acct_org', plan.id);
  const invoice = await ctx.stripe.invoices.retrieve(invoiceId);
  await deliver(ctx, 'invoice.paid', { ...invoice, status: 'open' });
  await settled(ctx);
  t.same(await grantsOf(ctx, 'acct_org'), [], 'an open invoice pays for no period');
  await deliver(ctx, 'invoice.paid', invoice);
  await settled(ctx);
  t.same((await grantsOf(ctx, 'acct_org')).map((g) => g.amount), [1000], 'the paid invoice grants it');
});

t.test("an invoice.paid of a renewal whose invoice came without its lines grants the period, its lines read from Stripe, not a TypeError retried for ever", async (t) => {
  const ctx = await build(t); // not listening: the test delivers the events
  const { plan } = await accountAndPlan(ctx, 'acct_org', { credits: 1000 });
  const { session, subscriptionId } = await subscribe(ctx, 'acct_org', plan.id);
  await deliver(ctx, 'checkout.session.completed', session);
  await settled(ctx);
  await advancePastPeriodEnd(ctx, subscriptionId);
  const renewal = (await ctx.stripe.invoices.list({ subscription: subscriptionId, status: 'paid', limit: 10 })).data.sort((a, b) => b.created - a.created)[0]!;
  t.not(renewal.id, session.invoice, 'Stripe renewed and was paid');
  const { lines: _lines, ...withoutLines } = renewal;
  await deliver(ctx, 'invoice.paid', withoutLines, { id: 'evt_no_lines' });
  t.match(await firstOutcome(ctx, 'evt_no_lines'), { status: 'processed', attempts: 1, lastError: null }, 'processed, not failed');
  t.same((await grantsOf(ctx, 'acct_org')).map((grant) => Number(grant.amount)), [1000, 1000], "the renewal's period is granted");
});

/**
 * acct_org subscribed (its first period granted), then paid for a period that ended 40 days ago: Stripe's
 * clock cannot go back, so the invoice of a period that already ended (paid late, say) is the real
 * first invoice moved 40 days into the past. `beforeLate` runs between the two.
 */
async function paidForAnEndedPeriod(ctx: TestApp, beforeLate: () => Promise<unknown> = async () => {}) {
  const { plan } = await accountAndPlan(ctx, 'acct_org', { credits: 1000 });
  const checkout = await openPlanCheckout(ctx, 'acct_org', plan.id);
  await ctx.simulator.pay(checkout.id);
  const session = await ctx.stripe.checkout.sessions.retrieve(checkout.id);
  await deliver(ctx, 'checkout.session.completed', session);
  await settled(ctx);
  await beforeLate();
  const invoice = await ctx.stripe.invoices.retrieve(session.invoice as string);
  const shift = 40 * 86_400;
  const late = { ...invoice, id: `${invoice.id}_late`, lines: { ...invoice.lines, data: invoice.lines.data.map((line) => ({ ...line, period: { start: line.period.start - shift, end: line.period.end - shift } })) } };
  await deliver(ctx, 'invoice.paid', late);
  await settled(ctx);
}

t.test("a period that has ended: what is left of its credits is written off with an expiry entry", async (t) => {
  const ctx = await build(t);
  await paidForAnEndedPeriod(ctx);
  await ctx.app.ledger.settle('acct_org');
  const ledger = await ctx.call('GET', '/v1/accounts/acct_org/ledger');
  const kinds = ledger.body.data.map((entry: { kind: string; amount: number }) => [entry.kind, entry.amount]);
  t.same(kinds, [['expiry', -1000], ['grant', 1000], ['grant', 1000]], 'the ended period was granted, then written off');
  t.equal((await ctx.call('GET', '/v1/accounts/acct_org/balance')).body.available, 1000, 'only the current period counts');
});

t.test("a period's grant that comes after the sweeper's mark passed its end is written off all the same, no command touching the account", async (t) => {
  const ctx = await build(t, { env: { SWEEP_INTERVAL_MS: '100' } });
  // Passes of the sweeper complete meanwhile: each later one looks only at grants that expired in the
  // last minutes, and this period ended 40 days ago (its invoice.paid retried for that long, or
  // caught up by the renewal reconciler).
  await paidForAnEndedPeriod(ctx, () => new Promise((resolve) => setTimeout(resolve, 500)));
  await new Promise((resolve) => setTimeout(resolve, 1000));
  t.equal((await ctx.call('GET', '/v1/accounts/acct_org/balance')).body.available, 1000, 'only the current period counts');
  t.same(await ledgerSum(ctx.database, 'acct_org'), { available: '1000', held: '0', entries: 3 }, 'and the ledger says so: the ended period granted, then written off');
  const lapsed = await ctx.database.pool.query("SELECT id FROM grants WHERE account_id = 'acct_org' AND remaining > 0 AND expires_at <= now()");
  t.equal(lapsed.rowCount, 0, 'no expired grant keeps credits');
});
