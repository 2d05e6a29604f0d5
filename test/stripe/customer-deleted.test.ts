import t from 'tap';
import { build, signedEvent } from '../helper.js';
import { accountAndPlan, createPlan, handled, settled, subscribe, subscriptionOf } from '../subscriptions/fixtures.js';
import { accountAndPack, openCheckout, postEvent } from './fixtures.js';

t.test('a customer deleted in the Dashboard: its subscription ends, the account forgets it, and its next checkout and portal open on a new one', async (t) => {
  const ctx = await build(t, { listen: true });
  const { plan } = await accountAndPlan(ctx);
  await subscribe(ctx, 'acct_org', plan.id);
  await settled(ctx);
  const deletedId = (await ctx.call('GET', '/v1/accounts/acct_org')).body.stripeCustomerId as string;
  t.match(deletedId, /^cus_/);

  t.match(await ctx.stripe.customers.del(deletedId), { id: deletedId, deleted: true }, 'deleted, as in the Dashboard');
  await settled(ctx);
  t.equal((await subscriptionOf(ctx, 'acct_org')).status, 'canceled', 'its subscription was canceled with it');
  t.equal((await ctx.call('GET', '/v1/accounts/acct_org')).body.stripeCustomerId, null, 'the account no longer names a customer Stripe has deleted');

  const portal = await ctx.call('POST', '/v1/portal/sessions', { accountId: 'acct_org' });
  t.equal(portal.status, 201, `the portal opens: ${JSON.stringify(portal.body)}`);
  const pro = await createPlan(ctx, { name: 'Pro 2' });
  const checkout = await ctx.call('POST', '/v1/checkout/sessions', { accountId: 'acct_org', planId: pro.id });
  t.equal(checkout.status, 201, `a new subscription's checkout opens: ${JSON.stringify(checkout.body)}`);
  const customer = (await ctx.call('GET', '/v1/accounts/acct_org')).body.stripeCustomerId as string;
  t.not(customer, deletedId);
  t.equal((await ctx.stripe.checkout.sessions.retrieve(checkout.body.id)).customer, customer, 'on the new customer');
  t.match(await ctx.stripe.customers.retrieve(customer), { email: 'acct_org@example.com', name: 'Org' }, "made with the account's details");
});

t.test("customer.deleted of a customer no account of this Tally has changes nothing", async (t) => {
  const ctx = await build(t, { listen: true });
  await accountAndPlan(ctx);
  t.equal((await ctx.call('POST', '/v1/portal/sessions', { accountId: 'acct_org' })).status, 201);
  const ours = (await ctx.call('GET', '/v1/accounts/acct_org')).body.stripeCustomerId as string;
  const other = await ctx.stripe.customers.create({ email: 'someone@example.com' });
  await ctx.stripe.customers.del(other.id);
  await settled(ctx);
  t.equal((await ctx.call('GET', '/v1/accounts/acct_org')).body.stripeCustomerId, ours);
});

t.test('a signed customer.deleted whose object has no id: acknowledged, logged, and no account loses its customer', async (t) => {
  const ctx = await build(t);
  const { pack } = await accountAndPack(ctx, 'acct_one');
  await openCheckout(ctx, 'acct_one', pack.id);
  await ctx.call('PUT', '/v1/accounts/acct_two', { email: 'two@example.com' });
  await openCheckout(ctx, 'acct_two', pack.id);
  const customers = async () => (await ctx.database.pool.query('SELECT id, stripe_customer_id FROM accounts WHERE stripe_customer_id IS NOT NULL ORDER BY id')).rows;
  const before = await customers();
  t.equal(before.length, 2, 'two accounts with Stripe customers');

  for (const [eventId, object] of [['evt_no_id', { object: 'customer', deleted: true }], ['evt_empty_id', { id: '', object: 'customer', deleted: true }]] as const) {
    t.equal((await postEvent(ctx, signedEvent(ctx.stripe, 'customer.deleted', object, { id: eventId }))).statusCode, 200, `${eventId}: acknowledged`);
    await handled(ctx);
    const { rows } = await ctx.database.pool.query('SELECT status FROM stripe_events WHERE id = $1', [eventId]);
    t.equal(rows[0].status, 'processed', `${eventId}: not an event failing for ever`);
  }
  t.same(await customers(), before, 'every account keeps its customer');
  t.ok(ctx.logs.some((line) => JSON.parse(line).level === 40 && line.includes('without an id')), 'a warning says why nothing changed');
});
