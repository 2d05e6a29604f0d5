import t from 'tap';
import { build, eventually, ledgerSum, type TestApp } from '../helper.js';
import { accountAndPack, grantsOf, openCheckout } from './fixtures.js';

/** The public success page's HTML for a session, as a browser gets it (no key). */
const successPage = async (ctx: TestApp, id: string) => (await ctx.app.inject({ method: 'GET', url: `/checkout/success?session_id=${id}` })).body;

t.test('end to end: a pack, a checkout, paid on the simulator, credits once', async (t) => {
  const ctx = await build(t, { listen: true });
  const { pack } = await accountAndPack(ctx);
  t.match(pack, { credits: 500, unitAmount: 500, currency: 'usd', active: true });
  const price = await ctx.stripe.prices.retrieve(pack.stripePriceId);
  t.equal(price.unit_amount, 500, 'the Stripe price exists');
  t.equal(price.product, pack.stripeProductId);

  const checkout = await openCheckout(ctx, 'acct_buyer', pack.id, { quantity: 2 });
  t.match(checkout.url, /\/checkout\/cs_/);
  const session = await ctx.stripe.checkout.sessions.retrieve(checkout.id);
  t.match(session.success_url, /session_id=\{CHECKOUT_SESSION_ID\}/, 'the success URL carries the session id');
  t.equal(session.metadata?.tally_account_id, 'acct_buyer');
  const account = await ctx.call('GET', '/v1/accounts/acct_buyer');
  t.equal(session.customer, account.body.stripeCustomerId, 'the session is for the account\'s customer');

  await ctx.simulator.pay(checkout.id);
  const balance = await eventually(async () => {
    const b = (await ctx.call('GET', '/v1/accounts/acct_buyer/balance')).body;
    return b.available > 0 && b;
  });
  t.equal(balance.available, 1000, 'two packs of 500');
  const grants = await grantsOf(ctx, 'acct_buyer');
  t.equal(grants.length, 1, 'one grant');
  t.equal(grants[0].source, `checkout:${checkout.id}`, 'whose source names the checkout');
  const view = await ctx.call('GET', `/v1/checkout/sessions/${checkout.id}`);
  t.match(view.body, { status: 'complete', fulfilled: true, credits: 1000, grantId: grants[0].id });
  const sync = await ctx.call('POST', `/v1/checkout/sessions/${checkout.id}/sync`);
  t.match(sync.body, { status: 'complete', fulfilled: true, available: 1000 }, 'a later sync changes nothing');
  t.equal(Number((await ledgerSum(ctx.database, 'acct_buyer')).available), 1000);
  const events = await ctx.database.pool.query("SELECT type, status FROM stripe_events WHERE type = 'checkout.session.completed'");
  t.same(events.rows, [{ type: 'checkout.session.completed', status: 'processed' }]);
});

t.test('the success page syncs before the webhook arrives', async (t) => {
  const ctx = await build(t);
  const { pack } = await accountAndPack(ctx);
  const checkout = await openCheckout(ctx, 'acct_buyer', pack.id);
  const before = await ctx.call('POST', `/v1/checkout/sessions/${checkout.id}/sync`);
  t.match(before.body, { status: 'open', fulfilled: false, paymentStatus: 'unpaid', available: 0 });
  await ctx.simulator.pay(checkout.id); // no webhook URL: nothing is delivered
  const after = await ctx.call('POST', `/v1/checkout/sessions/${checkout.id}/sync`);
  t.match(after.body, { status: 'complete', fulfilled: true, available: 500 });
  const page = await ctx.app.inject({ method: 'GET', url: `/checkout/success?session_id=${checkout.id}` });
  t.match(page.body, /500 credits were added/);
  t.equal((await grantsOf(ctx, 'acct_buyer')).length, 1);
});

t.test('the public success page asks Stripe only about a session Tally recorded and has not settled', async (t) => {
  const ctx = await build(t);
  const { pack } = await accountAndPack(ctx);
  const page = (id: string) => successPage(ctx, id);
  const paid = await openCheckout(ctx, 'acct_buyer', pack.id);
  await ctx.simulator.pay(paid.id); // no webhook URL: the page's sync grants
  t.match(await page(paid.id), /500 credits were added/);
  const expired = await openCheckout(ctx, 'acct_buyer', pack.id);
  await ctx.stripe.checkout.sessions.expire(expired.id);
  t.match(await page(expired.id), /This checkout expired before it was paid/, 'not yet known to Tally as expired: asks Stripe, and records it');
  t.match((await ctx.call('GET', `/v1/checkout/sessions/${expired.id}`)).body, { status: 'expired' });

  // Stripe would now fail the next read of a session; none of these pages may be the one to read it.
  ctx.simulator.failNext({ method: 'GET', path: '/v1/checkout/sessions/', status: 500 });
  t.match(await page('cs_test_never_issued_by_tally'), /No checkout session with id/, 'an id Tally never issued is not looked up');
  t.match(await page(paid.id), /500 credits were added/, 'a granted session is read from the record');
  t.match(await page(expired.id), /This checkout expired before it was paid/, 'so is an expired one');
  const open = await openCheckout(ctx, 'acct_buyer', pack.id);
  const sync = await ctx.call('POST', `/v1/checkout/sessions/${open.id}/sync`);
  t.equal(sync.status, 502, 'the failure was still waiting: no page above asked Stripe');
  t.equal((await grantsOf(ctx, 'acct_buyer')).length, 1);
});

t.test('the public success page, loaded in a loop, asks Stripe about one session at most 6 times a minute', async (t) => {
  const ctx = await build(t);
  const { pack } = await accountAndPack(ctx);
  const page = (id: string) => successPage(ctx, id);
  const looped = await openCheckout(ctx, 'acct_buyer', pack.id);
  for (let i = 0; i < 6; i++) t.match(await page(looped.id), /Stripe has not confirmed the payment yet \(unpaid\)/, `load ${i + 1} asks Stripe`);
  await ctx.simulator.pay(looped.id); // no webhook URL: only a page that asks Stripe can learn it
  t.match(await page(looped.id), /Stripe has not confirmed the payment yet \(unpaid\)/, 'the 7th load shows the record');
  t.same(await grantsOf(ctx, 'acct_buyer'), [], 'Stripe was not asked');
  const other = await openCheckout(ctx, 'acct_buyer', pack.id);
  await ctx.simulator.pay(other.id);
  t.match(await page(other.id), /500 credits were added/, 'another session\'s page still asks');
  const sync = await ctx.call('POST', `/v1/checkout/sessions/${looped.id}/sync`);
  t.match(sync.body, { fulfilled: true, available: 1000 }, 'and a product\'s own sync, with its key, is not limited by the page');
});

t.test('checkout input is checked before Stripe is asked', async (t) => {
  const ctx = await build(t);
  const { pack } = await accountAndPack(ctx);
  const cases: Array<[Record<string, unknown>, number, string]> = [
    [{ accountId: 'nobody', packId: pack.id }, 404, 'account_not_found'],
    [{ accountId: 'acct_buyer', packId: 'pack_nope' }, 404, 'pack_not_found'],
    [{ accountId: 'acct_buyer', packId: pack.id, successUrl: 'https://evil.example/steal' }, 400, 'redirect_origin_not_allowed'],
    [{ accountId: 'acct_buyer', packId: pack.id, cancelUrl: 'javascript:alert(1)' }, 400, 'redirect_origin_not_allowed'],
    [{ accountId: 'acct_buyer', packId: pack.id, quantity: 0 }, 400, 'invalid_request'],
    [{ accountId: 'acct_buyer', packId: pack.id, extra: 1 }, 400, 'invalid_request'],
  ];
  for (const [body, status, code] of cases) {
    const reply = await ctx.call('POST', '/v1/checkout/sessions', body);
    t.equal(reply.status, status, `${JSON.stringify(body)}: ${status}`);
    t.equal(reply.body.error.code, code);
  }
  await ctx.call('PATCH', `/v1/packs/${pack.id}`, { active: false });
  const inactive = await ctx.call('POST', '/v1/checkout/sessions', { accountId: 'acct_buyer', packId: pack.id });
  t.equal(inactive.status, 400);
  t.equal(inactive.body.error.code, 'pack_inactive');
  const sessions = await ctx.stripe.checkout.sessions.list();
  t.equal(sessions.data.length, 0, 'Stripe was never asked');
  const rows = await ctx.database.pool.query('SELECT count(*)::int AS n FROM checkouts');
  t.equal(rows.rows[0].n, 0);
});

t.test('a checkout whose credits one grant could not hold (quantity × pack credits over 10^12) is refused before the customer pays', async (t) => {
  const ctx = await build(t);
  await ctx.call('PUT', '/v1/accounts/acct_big', {});
  const pack = (await ctx.call('POST', '/v1/packs', { name: 'Huge', credits: 400_000_000_000, unitAmount: 500, currency: 'usd' })).body;
  const over = await ctx.call('POST', '/v1/checkout/sessions', { accountId: 'acct_big', packId: pack.id, quantity: 3 });
  t.equal(over.status, 400);
  t.match(over.body.error, { code: 'credits_too_large', details: { field: 'quantity', max: 2 } });
  t.match(over.body.error.message, /at most 2 of pack/);
  t.equal((await ctx.stripe.checkout.sessions.list()).data.length, 0, 'Stripe was never asked');
  const most = await ctx.call('POST', '/v1/checkout/sessions', { accountId: 'acct_big', packId: pack.id, quantity: 2 });
  t.equal(most.status, 201);
  t.equal(most.body.credits, 800_000_000_000);
});

t.test('two first checkouts racing make one Stripe customer', async (t) => {
  const ctx = await build(t);
  const { pack } = await accountAndPack(ctx);
  const [a, b] = await Promise.all([openCheckout(ctx, 'acct_buyer', pack.id), openCheckout(ctx, 'acct_buyer', pack.id)]);
  const sa = await ctx.stripe.checkout.sessions.retrieve(a.id);
  const sb = await ctx.stripe.checkout.sessions.retrieve(b.id);
  t.equal(sa.customer, sb.customer);
  const customers = await ctx.stripe.customers.list({ limit: 100 });
  t.equal(customers.data.length, 1, 'one customer in Stripe');
});

t.test('the portal opens for the account\'s customer', async (t) => {
  const ctx = await build(t);
  await accountAndPack(ctx);
  const portal = await ctx.call('POST', '/v1/portal/sessions', { accountId: 'acct_buyer' });
  t.equal(portal.status, 201);
  t.match(portal.body.url, /\/portal\/bps_/);
  const account = await ctx.call('GET', '/v1/accounts/acct_buyer');
  t.match(account.body.stripeCustomerId, /^cus_/, 'the customer was created');
  t.equal((await ctx.call('POST', '/v1/portal/sessions', { accountId: 'acct_buyer', returnUrl: 'https://elsewhere.example' })).status, 400);
  t.equal((await ctx.call('POST', '/v1/portal/sessions', { accountId: 'nobody' })).status, 404);
});

t.test("the portal's default return page is not the checkout's cancel page (the customer may have paid in the portal)", async (t) => {
  const ctx = await build(t);
  await accountAndPack(ctx);
  const portal = await ctx.call('POST', '/v1/portal/sessions', { accountId: 'acct_buyer' });
  t.equal(portal.status, 201);
  const portalPage = await (await fetch(`${ctx.simulatorUrl}${new URL(portal.body.url).pathname}`)).text();
  const returnUrl = /id="return" href="([^"]+)"/.exec(portalPage)?.[1] ?? '';
  t.match(returnUrl, /^http:\/\/(localhost|127\.0\.0\.1):\d+\//, "the portal returns to Tally's own page");
  const back = await ctx.app.inject({ method: 'GET', url: new URL(returnUrl).pathname });
  t.equal(back.statusCode, 200);
  t.notMatch(back.body, /Checkout canceled|Nothing was charged/, 'which does not tell someone back from the portal that a checkout was canceled');
  t.match(back.body, /billing/i, 'but that they are back from managing their billing');
});

t.test("the operator's default redirect URLs are used, whatever TALLY_REDIRECT_ORIGINS allows a request to give", async (t) => {
  // The shop's own origin allowed for the URLs requests give; Tally's own cancel page stays the default.
  const shop = await build(t, { env: { TALLY_REDIRECT_ORIGINS: 'https://shop.example.com' } });
  const { pack } = await accountAndPack(shop);
  const opened = await shop.call('POST', '/v1/checkout/sessions', { accountId: 'acct_buyer', packId: pack.id, successUrl: 'https://shop.example.com/thanks' });
  t.equal(opened.status, 201, `a checkout giving only its success URL opens: ${JSON.stringify(opened.body)}`);
  t.match((await shop.stripe.checkout.sessions.retrieve(opened.body.id)).cancel_url, /^http:\/\/127\.0\.0\.1:\d+\/checkout\/cancel$/, "and cancels to Tally's own page");
  t.equal((await shop.call('POST', '/v1/portal/sessions', { accountId: 'acct_buyer' })).status, 201, 'a portal without a return URL opens');
  t.equal((await shop.call('POST', '/v1/checkout/sessions', { accountId: 'acct_buyer', packId: pack.id, successUrl: 'https://evil.example/x' })).body.error?.code, 'redirect_origin_not_allowed', 'a URL a request gives is still held to the origins');

  // A default success page the operator set, with no origins named.
  const thanks = await build(t, { env: { CHECKOUT_SUCCESS_URL: 'https://shop.example.com/thanks', PORTAL_RETURN_URL: 'https://shop.example.com/account' } });
  const second = await accountAndPack(thanks);
  const plain = await thanks.call('POST', '/v1/checkout/sessions', { accountId: 'acct_buyer', packId: second.pack.id });
  t.equal(plain.status, 201, `a checkout with no URLs opens: ${JSON.stringify(plain.body)}`);
  t.match((await thanks.stripe.checkout.sessions.retrieve(plain.body.id)).success_url, /^https:\/\/shop\.example\.com\/thanks\?session_id=\{CHECKOUT_SESSION_ID\}$/, 'to CHECKOUT_SUCCESS_URL');
  t.equal((await thanks.call('POST', '/v1/portal/sessions', { accountId: 'acct_buyer' })).status, 201, 'and a portal returns to PORTAL_RETURN_URL');
});

t.test('an account whose Stripe customer Stripe does not know (another key, a restarted simulator) gets a new one, and its checkouts open', async (t) => {
  const ctx = await build(t);
  const { pack } = await accountAndPack(ctx);
  const plan = (await ctx.call('POST', '/v1/plans', { name: 'Pro', credits: 10, unitAmount: 900, currency: 'usd', interval: 'month' })).body;
  const forget = async () => {
    // As if made under another Stripe key: Stripe has never heard of it.
    await ctx.database.pool.query("UPDATE accounts SET stripe_customer_id = 'cus_made_elsewhere' WHERE id = 'acct_buyer'");
  };
  const customerNow = async () => (await ctx.database.pool.query("SELECT stripe_customer_id FROM accounts WHERE id = 'acct_buyer'")).rows[0].stripe_customer_id as string;
  const opens: Array<[string, () => Promise<{ status: number; body: any }>]> = [
    ['pack checkout', () => ctx.call('POST', '/v1/checkout/sessions', { accountId: 'acct_buyer', packId: pack.id }, { 'idempotency-key': 'same-key-before-and-after' })],
    ['plan checkout', () => ctx.call('POST', '/v1/checkout/sessions', { accountId: 'acct_buyer', planId: plan.id })],
    ['bill', () => ctx.call('POST', '/v1/bills', { accountId: 'acct_buyer', name: 'Setup', amount: 5000, currency: 'usd' })],
    ['portal', () => ctx.call('POST', '/v1/portal/sessions', { accountId: 'acct_buyer' })],
  ];
  for (const [what, open] of opens) {
    await forget();
    if (what === 'plan checkout') {
      // Stripe may refuse a list filtered by the unknown customer before the create is tried, naming no parameter.
      ctx.simulator.failNext({ method: 'GET', path: '^/v1/subscriptions', status: 404, error: { type: 'invalid_request_error', message: "No such customer: 'cus_made_elsewhere'", code: 'resource_missing' } });
    }
    const reply = await open();
    t.equal(reply.status, 201, `${what}: ${JSON.stringify(reply.body)}`);
    const customer = await customerNow();
    t.not(customer, 'cus_made_elsewhere', `${what}: the unknown customer is forgotten`);
    t.equal((await ctx.stripe.customers.retrieve(customer)).id, customer, `${what}: and the new one is Stripe's`);
  }
  const sessions = (await ctx.stripe.checkout.sessions.list({ limit: 100 })).data;
  t.ok(sessions.every((s) => s.customer !== 'cus_made_elsewhere'), 'every session is on a customer Stripe knows');
});

t.test('sync: a session Stripe does not have is a 404; any other refusal of Stripe\'s is not passed off as one', async (t) => {
  const ctx = await build(t);
  const { pack } = await accountAndPack(ctx);
  const missing = await ctx.call('POST', '/v1/checkout/sessions/cs_test_unknown_to_stripe/sync');
  t.equal(missing.status, 404);
  t.equal(missing.body.error.code, 'checkout_session_not_found');
  const open = await openCheckout(ctx, 'acct_buyer', pack.id);
  ctx.simulator.failNext({ method: 'GET', path: '/v1/checkout/sessions/', status: 400, error: { type: 'invalid_request_error', message: 'This API version is not supported', code: 'api_version_invalid' } });
  const refused = await ctx.call('POST', `/v1/checkout/sessions/${open.id}/sync`);
  t.equal(refused.status, 502, 'Stripe refused the request: a failure upstream, not an unknown session');
  t.match(refused.body.error, { code: 'stripe_invalid_request', details: { stripeCode: 'api_version_invalid' } });
});
