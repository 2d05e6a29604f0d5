import t from 'tap';
import { loadConfig } from '../../src/config.js';
import { build, key, signedEvent, type TestApp, type TestContext } from '../helper.js';
import { createBill } from '../bills/fixtures.js';
import { accountAndPlan, grantsOf as subscriptionGrantsOf, handled, subscribe } from '../subscriptions/fixtures.js';
import { accountAndPack, grantsOf, openCheckout, postEvent } from './fixtures.js';

// Two Tallys on one Stripe account (a staging beside a production): each receives the other's events,
// and Stripe's idempotency keys are the account's. Each builds against its own database.
async function twoTallys(t: TestContext): Promise<[TestApp, TestApp]> {
  const a = await build(t);
  const b = await build(t, { stripeOf: a });
  return [a, b];
}

/** What `tally_foreign_stripe_objects_total` says, scraped as Prometheus would. */
async function foreignSeen(ctx: TestApp): Promise<number> {
  const scrape = await ctx.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${ctx.config.TALLY_ADMIN_KEY}` } });
  return Number(/^tally_foreign_stripe_objects_total (\d+)$/m.exec(scrape.body)?.[1]);
}

async function stripeEventsOf(ctx: TestApp) {
  const { rows } = await ctx.database.pool.query('SELECT type, status FROM stripe_events ORDER BY type');
  return rows as Array<{ type: string; status: string }>;
}

t.test('each Tally has its own instance id, kept by its database across restarts', async (t) => {
  const [a, b] = await twoTallys(t);
  t.match(a.app.instance.id, /^tally_[0-9A-Za-z]{20}$/);
  t.not(a.app.instance.id, b.app.instance.id);
  const again = await build(t, { databaseUrl: a.databaseUrl, stripeOf: a });
  t.equal(again.app.instance.id, a.app.instance.id, 'a restart on the same database is the same Tally');
  const named = await build(t, { databaseUrl: a.databaseUrl, stripeOf: a, env: { TALLY_INSTANCE_ID: 'staging-2' } });
  t.equal(named.app.instance.id, 'staging-2', 'TALLY_INSTANCE_ID overrides the database\'s id');
});

t.test('a paid checkout another Tally made is acknowledged and grants nothing, even to an account of the same id', async (t) => {
  const [a, b] = await twoTallys(t);
  const { pack } = await accountAndPack(a);
  await accountAndPack(b);
  const checkout = await openCheckout(a, 'acct_buyer', pack.id);
  await a.simulator.pay(checkout.id);
  const session = await a.stripe.checkout.sessions.retrieve(checkout.id);
  t.equal(session.metadata?.tally_instance, a.app.instance.id, 'the session carries its Tally\'s stamp');

  const event = signedEvent(a.stripe, 'checkout.session.completed', session);
  t.equal((await postEvent(b, event)).statusCode, 200);
  await handled(b);
  t.same(await stripeEventsOf(b), [{ type: 'checkout.session.completed', status: 'processed' }], 'processed, not failed and retried');
  t.same(await grantsOf(b, 'acct_buyer'), [], 'no credits in the other Tally');
  t.equal((await b.database.pool.query('SELECT count(*)::int AS n FROM checkouts')).rows[0].n, 0, 'nor a checkout record');
  t.equal(await foreignSeen(b), 1, 'counted in the metrics');
  t.ok(b.logs.some((line) => line.includes(session.id) && line.includes('made by another Tally')), 'and logged, naming the session');
  const sync = await b.call('POST', `/v1/checkout/sessions/${session.id}/sync`);
  t.equal(sync.status, 404, 'the other Tally does not know the session');
  t.equal(sync.body.error.code, 'checkout_session_not_found');
  t.equal(await foreignSeen(a), 0, 'the Tally that made it has met none of another\'s');

  t.equal((await postEvent(a, event)).statusCode, 200);
  await handled(a);
  t.match(await grantsOf(a, 'acct_buyer'), [{ source_key: `checkout:${session.id}`, amount: 500 }], 'the Tally that made it grants it');
});

t.test('a subscription another Tally sold is not recorded, nor are its invoices granted', async (t) => {
  const [a, b] = await twoTallys(t);
  const { plan } = await accountAndPlan(a);
  await accountAndPlan(b);
  const { session, subscriptionId, invoiceId } = await subscribe(a, 'acct_org', plan.id);
  const subscription = await a.stripe.subscriptions.retrieve(subscriptionId);
  t.equal(subscription.metadata.tally_instance, a.app.instance.id);
  const invoice = await a.stripe.invoices.retrieve(invoiceId);
  for (const [type, object] of [['customer.subscription.created', subscription], ['invoice.paid', invoice], ['checkout.session.completed', session]] as const) {
    t.equal((await postEvent(b, signedEvent(a.stripe, type, object))).statusCode, 200, type);
  }
  await handled(b);
  t.equal((await stripeEventsOf(b)).filter((e) => e.status !== 'processed').length, 0);
  t.equal((await b.database.pool.query('SELECT count(*)::int AS n FROM subscriptions')).rows[0].n, 0, 'no subscription recorded');
  t.same(await subscriptionGrantsOf(b, 'acct_org'), [], 'no period granted');
  t.equal((await b.call('GET', '/v1/accounts/acct_org/subscription')).status, 404);
  t.ok(await foreignSeen(b) >= 2, 'the subscription and the checkout are counted as another Tally\'s');

  for (const [type, object] of [['invoice.paid', invoice], ['checkout.session.completed', session]] as const) {
    await postEvent(a, signedEvent(a.stripe, type, object));
  }
  await handled(a);
  t.equal((await subscriptionGrantsOf(a, 'acct_org')).length, 1, 'the Tally that sold it grants its first period');
});

t.test('a bill of the same id in another Tally (the same Idempotency-Key) is not paid by this one\'s checkout', async (t) => {
  const [a, b] = await twoTallys(t);
  for (const ctx of [a, b]) await ctx.call('PUT', '/v1/accounts/acct_org', { name: 'Org' });
  const billKey = key('bill');
  const billA = await createBill(a, { credits: 100 }, { 'idempotency-key': billKey });
  const billB = await createBill(b, { credits: 100 }, { 'idempotency-key': billKey });
  t.equal(billA.id, billB.id, 'bill ids derive from the key');
  t.not(billA.checkoutSessionId, billB.checkoutSessionId, 'but each Tally has its own Stripe session');
  await a.simulator.pay(billA.checkoutSessionId);
  const session = await a.stripe.checkout.sessions.retrieve(billA.checkoutSessionId);
  const event = signedEvent(a.stripe, 'checkout.session.completed', session);
  t.equal((await postEvent(b, event)).statusCode, 200);
  await handled(b);
  t.equal((await b.call('GET', `/v1/bills/${billB.id}`)).body.status, 'open', 'the other Tally\'s bill is still to be paid');
  t.same(await grantsOf(b, 'acct_org'), []);
  await postEvent(a, event);
  await handled(a);
  t.equal((await a.call('GET', `/v1/bills/${billA.id}`)).body.status, 'paid');
});

t.test('the same Idempotency-Key in two Tallys makes two sets of Stripe objects, not one shared', async (t) => {
  const [a, b] = await twoTallys(t);
  const packKey = key('pack');
  const body = { name: 'Starter', credits: 500, unitAmount: 500, currency: 'usd' };
  const packA = await a.call('POST', '/v1/packs', body, { 'idempotency-key': packKey });
  const packB = await b.call('POST', '/v1/packs', body, { 'idempotency-key': packKey });
  t.equal(packA.status, 201);
  t.equal(packB.status, 201);
  t.not(packA.body.stripePriceId, packB.body.stripePriceId, 'each Tally sells its own price');
  t.not(packA.body.stripeProductId, packB.body.stripeProductId);

  const checkoutKey = key('checkout');
  const opened = [];
  for (const ctx of [a, b]) {
    await ctx.call('PUT', '/v1/accounts/acct_buyer', { email: 'buyer@example.com' });
    const pack = ctx === a ? packA.body : packB.body;
    const reply = await ctx.call('POST', '/v1/checkout/sessions', { accountId: 'acct_buyer', packId: pack.id }, { key: ctx.serviceKey, 'idempotency-key': checkoutKey });
    t.equal(reply.status, 201, JSON.stringify(reply.body));
    opened.push(reply.body.id);
  }
  t.not(opened[0], opened[1], 'two sessions, each its own Tally\'s');
  const customers = await a.stripe.customers.list({ email: 'buyer@example.com' });
  t.equal(customers.data.length, 2, 'and two customers: an account of the same id is not shared');
});

t.test('a session stamped under an earlier instance id, or made before stamping, is still granted here', async (t) => {
  const a = await build(t);
  const { pack } = await accountAndPack(a);
  const stamped = await openCheckout(a, 'acct_buyer', pack.id);
  await a.simulator.pay(stamped.id);
  // The same database, now named by TALLY_INSTANCE_ID: the session was recorded here, so it is ours.
  const renamed = await build(t, { databaseUrl: a.databaseUrl, stripeOf: a, env: { TALLY_INSTANCE_ID: 'renamed' } });
  const session = await a.stripe.checkout.sessions.retrieve(stamped.id);
  await postEvent(renamed, signedEvent(a.stripe, 'checkout.session.completed', session));
  await handled(renamed);
  t.match(await grantsOf(renamed, 'acct_buyer'), [{ source_key: `checkout:${stamped.id}`, amount: 500 }]);

  // A session with Tally's metadata but no stamp (made by a Tally before it stamped), never recorded.
  const { tally_instance: _, ...unstamped } = session.metadata!;
  const older = await a.stripe.checkout.sessions.create({
    mode: 'payment',
    customer: session.customer as string,
    line_items: [{ price: pack.stripePriceId, quantity: 1 }],
    success_url: 'http://127.0.0.1/ok',
    metadata: unstamped,
  });
  await a.simulator.pay(older.id);
  await postEvent(renamed, signedEvent(a.stripe, 'checkout.session.completed', await a.stripe.checkout.sessions.retrieve(older.id)));
  await handled(renamed);
  t.equal((await grantsOf(renamed, 'acct_buyer')).length, 2, 'granted, as before stamping');
});

t.test('a client Idempotency-Key of 255 characters still fits Stripe\'s limit', async (t) => {
  const a = await build(t);
  const { pack } = await accountAndPack(a);
  const reply = await a.call('POST', '/v1/checkout/sessions', { accountId: 'acct_buyer', packId: pack.id }, { key: a.serviceKey, 'idempotency-key': 'k'.repeat(255) });
  t.equal(reply.status, 201, JSON.stringify(reply.body));
  const again = await a.call('POST', '/v1/checkout/sessions', { accountId: 'acct_buyer', packId: pack.id }, { key: a.serviceKey, 'idempotency-key': 'k'.repeat(255) });
  t.equal(again.body.id, reply.body.id, 'and a retry is the same session');
});

t.test('TALLY_INSTANCE_ID must be a short plain name', async (t) => {
  t.throws(() => loadConfig({ TALLY_INSTANCE_ID: 'has space' }), /TALLY_INSTANCE_ID/);
  t.throws(() => loadConfig({ TALLY_INSTANCE_ID: 'x'.repeat(65) }), /TALLY_INSTANCE_ID/);
  t.equal(loadConfig({ TALLY_INSTANCE_ID: 'staging_2' }).TALLY_INSTANCE_ID, 'staging_2');
});
