import t from 'tap';
import { build, type TestApp } from '../helper.js';
import { createBill } from '../bills/fixtures.js';
import { accountAndPack, openCheckout } from '../stripe/fixtures.js';
import { accountAndPlan, grantsOf, openPlanCheckout, settled, subscriptionOf } from './fixtures.js';

/** The checkout's status in Tally's records and at Stripe. */
async function statusOf(ctx: TestApp, id: string) {
  const tally = await ctx.call('GET', `/v1/checkout/sessions/${id}`);
  return { tally: tally.body.status as string, stripe: (await ctx.stripe.checkout.sessions.retrieve(id)).status };
}

async function subscriptionRows(ctx: TestApp, accountId: string) {
  const { rows } = await ctx.database.pool.query('SELECT stripe_subscription_id, status FROM subscriptions WHERE account_id = $1', [accountId]);
  return rows as Array<{ stripe_subscription_id: string; status: string }>;
}

async function subscriptionCheckoutIds(ctx: TestApp, accountId: string): Promise<string[]> {
  const { rows } = await ctx.database.pool.query("SELECT id FROM checkouts WHERE account_id = $1 AND kind = 'subscription' ORDER BY created_at, id", [accountId]);
  return rows.map((row: { id: string }) => row.id);
}

t.test('a second subscription checkout expires the first; only the second can be paid, once', async (t) => {
  const ctx = await build(t, { listen: true });
  const { plan } = await accountAndPlan(ctx, 'acct_org', { credits: 1000 });
  const first = await openPlanCheckout(ctx, 'acct_org', plan.id);
  const second = await openPlanCheckout(ctx, 'acct_org', plan.id);

  t.same(await statusOf(ctx, first.id), { tally: 'expired', stripe: 'expired' }, 'the first is expired in Tally and at Stripe');
  await t.rejects(ctx.simulator.pay(first.id), /expired/, 'and its page refuses to take the money');
  t.same(await statusOf(ctx, second.id), { tally: 'open', stripe: 'open' }, 'the second is open');

  await ctx.simulator.pay(second.id);
  await settled(ctx);
  t.same(await statusOf(ctx, first.id), { tally: 'expired', stripe: 'expired' }, "Stripe's checkout.session.expired agrees");
  t.equal((await subscriptionRows(ctx, 'acct_org')).length, 1, 'one subscription');
  t.same((await grantsOf(ctx, 'acct_org')).map((g) => g.amount), [1000], "one grant: the first period's");
  t.match(await subscriptionOf(ctx, 'acct_org'), { status: 'active', currentPeriodCredits: 1000 });
});

t.test('open pack checkouts and bills of the account are left open', async (t) => {
  const ctx = await build(t);
  const { plan } = await accountAndPlan(ctx, 'acct_org');
  const { pack } = await accountAndPack(ctx, 'acct_org');
  const packCheckouts = [await openCheckout(ctx, 'acct_org', pack.id), await openCheckout(ctx, 'acct_org', pack.id)];
  const bill = await createBill(ctx, {});
  await openPlanCheckout(ctx, 'acct_org', plan.id);

  for (const checkout of packCheckouts) t.same(await statusOf(ctx, checkout.id), { tally: 'open', stripe: 'open' }, 'a pack checkout stays open');
  t.same(await statusOf(ctx, bill.checkoutSessionId), { tally: 'open', stripe: 'open' }, "the bill's checkout stays open");
  await ctx.simulator.pay(packCheckouts[0]!.id);
  const synced = await ctx.call('POST', `/v1/checkout/sessions/${packCheckouts[0]!.id}/sync`);
  t.match(synced.body, { status: 'complete', fulfilled: true, available: 500 }, 'and can still be paid');
});

t.test('an older checkout paid before Tally heard of it: the new one is expired, 409, and the paid one is fulfilled once', async (t) => {
  const ctx = await build(t, { listen: true });
  ctx.simulator.setWebhookUrl(undefined); // Stripe's events wait until the end
  const { plan } = await accountAndPlan(ctx, 'acct_org', { credits: 1000 });
  const older = await openPlanCheckout(ctx, 'acct_org', plan.id);

  // The payer completes the older page while Tally creates the new session: after Tally asked Stripe
  // for the customer's subscriptions (none yet), before the new session exists. The SDK emits
  // 'request' as it sends the create, and the simulator's pay completes synchronously.
  let paying: Promise<void> | undefined;
  const payOlder = (request: { method: string; path: string }) => {
    if (request.method !== 'POST' || request.path !== '/v1/checkout/sessions') return;
    ctx.stripe.off('request', payOlder);
    paying = ctx.simulator.pay(older.id);
  };
  ctx.stripe.on('request', payOlder);
  const reply = await ctx.call('POST', '/v1/checkout/sessions', { accountId: 'acct_org', planId: plan.id }, { key: ctx.serviceKey });
  t.ok(paying, 'the older session was paid during the create');
  await paying;

  t.equal(reply.status, 409);
  t.match(reply.body.error, { code: 'subscription_exists', details: { accountId: 'acct_org', checkoutSessionId: older.id } });
  const newer = (await subscriptionCheckoutIds(ctx, 'acct_org')).filter((id) => id !== older.id);
  t.equal(newer.length, 1, 'the new session was made and recorded');
  t.same(await statusOf(ctx, newer[0]!), { tally: 'expired', stripe: 'expired' }, 'then expired');
  await t.rejects(ctx.simulator.pay(newer[0]!), /expired/);
  t.same(await statusOf(ctx, older.id), { tally: 'open', stripe: 'complete' }, 'the paid one is left to the webhook and the success page');
  t.same(await grantsOf(ctx, 'acct_org'), [], 'nothing granted by the refusal');

  ctx.simulator.setWebhookUrl(`${ctx.url}/v1/webhooks/stripe`);
  const synced = await ctx.call('POST', `/v1/checkout/sessions/${older.id}/sync`);
  t.match(synced.body, { status: 'complete', fulfilled: true });
  await settled(ctx);
  t.equal((await subscriptionRows(ctx, 'acct_org')).length, 1, 'one subscription');
  t.same((await grantsOf(ctx, 'acct_org')).map((g) => g.amount), [1000], 'one grant, whether the webhook or the success page came first');
  t.match(await statusOf(ctx, older.id), { tally: 'complete' });
  t.equal((await ctx.call('POST', '/v1/checkout/sessions', { accountId: 'acct_org', planId: plan.id })).body.error.code, 'subscription_exists');
});

t.test('two creates at once: exactly one of them stays open', async (t) => {
  const ctx = await build(t);
  const { plan } = await accountAndPlan(ctx, 'acct_org');
  const open = () => ctx.call('POST', '/v1/checkout/sessions', { accountId: 'acct_org', planId: plan.id }, { key: ctx.serviceKey });
  const replies = await Promise.all([open(), open(), open()]);

  for (const reply of replies) {
    t.ok(reply.status === 201 || reply.body.error?.code === 'checkout_superseded', `answered ${reply.status} ${reply.body.error?.code ?? ''}`);
  }
  const ids = await subscriptionCheckoutIds(ctx, 'acct_org');
  t.equal(ids.length, 3);
  const statuses = await Promise.all(ids.map((id) => statusOf(ctx, id)));
  t.same(statuses.map((s) => s.tally), ['expired', 'expired', 'open'], 'the newest stays open');
  t.same(statuses.map((s) => s.stripe), ['expired', 'expired', 'open'], 'and Stripe agrees');
});

t.test('Stripe failing while superseding is a 502; the next checkout supersedes what was left open', async (t) => {
  const ctx = await build(t);
  const { plan } = await accountAndPlan(ctx, 'acct_org');
  const first = await openPlanCheckout(ctx, 'acct_org', plan.id);
  ctx.simulator.failNext({ method: 'POST', path: `/v1/checkout/sessions/${first.id}/expire`, status: 500 });

  const failed = await ctx.call('POST', '/v1/checkout/sessions', { accountId: 'acct_org', planId: plan.id }, { key: ctx.serviceKey });
  t.equal(failed.status, 502);
  t.equal(failed.body.error.code, 'stripe_error');
  const [, second] = await subscriptionCheckoutIds(ctx, 'acct_org');
  t.same(await statusOf(ctx, first.id), { tally: 'open', stripe: 'open' }, 'the older one could not be expired');
  t.same(await statusOf(ctx, second!), { tally: 'open', stripe: 'open' }, 'the new session stays recorded');

  const third = await openPlanCheckout(ctx, 'acct_org', plan.id);
  t.same(await statusOf(ctx, first.id), { tally: 'expired', stripe: 'expired' });
  t.same(await statusOf(ctx, second!), { tally: 'expired', stripe: 'expired' });
  t.same(await statusOf(ctx, third.id), { tally: 'open', stripe: 'open' });
});

t.test('an open record of a session Stripe does not know (another key made it) is marked expired, not a 502 for ever', async (t) => {
  const ctx = await build(t);
  const { plan } = await accountAndPlan(ctx, 'acct_org');
  await ctx.database.pool.query("INSERT INTO checkouts (id, account_id, kind, plan_id, credits, created_at) VALUES ('cs_test_other_key', 'acct_org', 'subscription', $1, 1000, now() - interval '1 hour')", [plan.id]);
  const opened = await openPlanCheckout(ctx, 'acct_org', plan.id);
  t.equal((await ctx.call('GET', '/v1/checkout/sessions/cs_test_other_key')).body.status, 'expired');
  t.same(await statusOf(ctx, opened.id), { tally: 'open', stripe: 'open' });
});
