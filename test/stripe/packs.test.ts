import t from 'tap';
import { build, eventually, key, type TestApp } from '../helper.js';

/** An account, and a pack and a monthly plan named `name` at `unitAmount` cents: each with its path and what a checkout of it names. */
async function packAndPlan(ctx: TestApp, accountId: string, name: string, unitAmount: number) {
  await ctx.call('PUT', `/v1/accounts/${accountId}`, { email: `${accountId}@example.com` });
  const pack = (await ctx.call('POST', '/v1/packs', { name, credits: 10, unitAmount, currency: 'usd' }, { 'idempotency-key': key('pack') })).body;
  const plan = (await ctx.call('POST', '/v1/plans', { name, credits: 10, unitAmount, currency: 'usd', interval: 'month' }, { 'idempotency-key': key('plan') })).body;
  return [['packs', pack, { packId: pack.id }], ['plans', plan, { planId: plan.id }]] as const;
}

const checkout = (ctx: TestApp, accountId: string, bought: { packId: string } | { planId: string }) =>
  ctx.call('POST', '/v1/checkout/sessions', { accountId, ...bought }, { key: ctx.serviceKey });

t.test('packs: create, list, get, change price, deactivate', async (t) => {
  const ctx = await build(t);
  const created = await ctx.call('POST', '/v1/packs', { name: 'Pro pack', credits: 1000, unitAmount: 900, currency: 'EUR', description: '1k credits' });
  t.equal(created.status, 201);
  t.match(created.body, { name: 'Pro pack', credits: 1000, unitAmount: 900, currency: 'eur', active: true });
  const product = await ctx.stripe.products.retrieve(created.body.stripeProductId);
  t.equal(product.name, 'Pro pack');
  t.equal((await ctx.call('GET', '/v1/packs', undefined, { key: ctx.serviceKey })).body.data.length, 1, 'a service key can list');
  t.equal((await ctx.call('GET', `/v1/packs/${created.body.id}`)).body.id, created.body.id);
  t.equal((await ctx.call('GET', '/v1/packs/pack_nope')).status, 404);
  t.equal((await ctx.call('POST', '/v1/packs', { name: 'x', credits: 1, unitAmount: 100, currency: 'usd' }, { key: ctx.serviceKey })).status, 403);

  const repriced = await ctx.call('PATCH', `/v1/packs/${created.body.id}`, { unitAmount: 1200 });
  t.equal(repriced.status, 200);
  t.not(repriced.body.stripePriceId, created.body.stripePriceId, 'a new amount is a new Price');
  t.equal((await ctx.stripe.prices.retrieve(created.body.stripePriceId)).active, false, 'the old Price is deactivated');
  t.equal((await ctx.stripe.prices.retrieve(repriced.body.stripePriceId)).unit_amount, 1200);
  t.equal(repriced.body.stripeProductId, created.body.stripeProductId, 'same Product');

  const off = await ctx.call('PATCH', `/v1/packs/${created.body.id}`, { active: false });
  t.equal(off.body.active, false);
  t.equal((await ctx.call('GET', '/v1/packs')).body.data.length, 0, 'inactive packs are not listed by default');
  t.equal((await ctx.call('GET', '/v1/packs?active=false')).body.data.length, 1);
});

t.test('a retried create never makes a second Product', async (t) => {
  const ctx = await build(t);
  const k = key('pack');
  const body = { name: 'Retry pack', credits: 10, unitAmount: 100, currency: 'usd' };
  const [a, b] = await Promise.all([ctx.call('POST', '/v1/packs', body, { 'idempotency-key': k }), ctx.call('POST', '/v1/packs', body, { 'idempotency-key': k })]);
  const c = await ctx.call('POST', '/v1/packs', body, { 'idempotency-key': k });
  t.equal(a.body.id, b.body.id);
  t.equal(a.body.id, c.body.id);
  t.same([a.status, b.status, c.status], [201, 201, 201], 'each answered as the first, status included');
  t.same([a, b, c].filter((reply) => reply.headers['idempotent-replayed'] === 'true').length, 2, 'two of them replays');
  const products = await ctx.stripe.products.list({ limit: 100 });
  t.equal(products.data.length, 1, 'one Product in Stripe');
  // A first attempt that died after Stripe made the Product, before the pack was stored:
  const k2 = key('pack');
  ctx.simulator.failNext({ method: 'POST', path: '/v1/prices', status: 500 });
  t.equal((await ctx.call('POST', '/v1/packs', { ...body, name: 'Half' }, { 'idempotency-key': k2 })).status, 502);
  t.equal((await ctx.call('POST', '/v1/packs', { ...body, name: 'Half' }, { 'idempotency-key': k2 })).status, 201);
  t.equal((await ctx.stripe.products.list({ limit: 100 })).data.length, 2, 'the retry reused the Product');
});

t.test('a pack can sell a price managed in the Stripe Dashboard', async (t) => {
  const ctx = await build(t);
  const product = await ctx.stripe.products.create({ name: 'Dashboard product' });
  const price = await ctx.stripe.prices.create({ product: product.id, unit_amount: 2500, currency: 'gbp' });
  const pack = await ctx.call('POST', '/v1/packs', { name: 'Dashboard pack', credits: 3000, stripePriceId: price.id });
  t.equal(pack.status, 201);
  t.match(pack.body, { unitAmount: 2500, currency: 'gbp', stripePriceId: price.id, stripeProductId: product.id });
  const repriced = await ctx.call('PATCH', `/v1/packs/${pack.body.id}`, { unitAmount: 100 });
  t.equal(repriced.status, 409, 'Tally does not reprice a price it does not own');
  const unknown = await ctx.call('POST', '/v1/packs', { name: 'x', credits: 1, stripePriceId: 'price_nope' });
  t.equal(unknown.status, 400);
  t.equal(unknown.body.error.code, 'unknown_stripe_price');
  const bad = await ctx.call('POST', '/v1/packs', { name: 'x', credits: 1.5, unitAmount: -1, currency: 'dollars' });
  t.equal(bad.status, 400);
  t.ok(bad.body.error.details.issues.length >= 3, 'every bad field is named');
  const missing = await ctx.call('POST', '/v1/packs', { name: 'x', credits: 1 });
  t.equal(missing.status, 400);
  for (const [path, extra] of [['/v1/packs', {}], ['/v1/plans', { interval: 'month' }]] as const) {
    const notAPrice = await ctx.call('POST', path, { name: 'x', credits: 1, stripePriceId: 'prod_123', ...extra });
    t.equal(notAPrice.status, 400, `${path}: a product id where a price id goes`);
    t.match(notAPrice.body.error.details.issues, [{ field: 'body.stripePriceId', message: 'must be a Stripe price id (price_...)' }]);
  }
  t.equal((await ctx.call('GET', '/v1/packs?active=false')).body.data.length, 1, 'no pack was stored by a refused create');
  t.equal((await ctx.call('GET', '/v1/plans?active=false')).body.data.length, 0, 'nor a plan');
});

t.test('a pack Stripe would refuse, or could never sell, is refused before Stripe is asked', async (t) => {
  const ctx = await build(t);
  const products = async () => (await ctx.stripe.products.list({ limit: 100 })).data.length;
  const pack = (await ctx.call('POST', '/v1/packs', { name: 'Starter', credits: 100, unitAmount: 500, currency: 'usd' })).body;
  const before = await products();
  const cases: Array<[string, Record<string, unknown>, string, string]> = [
    ['below the minimum charge', { unitAmount: 10, currency: 'usd' }, 'amount_too_small', 'unitAmount'],
    ['a currency Stripe does not support', { unitAmount: 500, currency: 'xyz' }, 'invalid_currency', 'currency'],
    ['fractional krónur (ISK 40.10)', { unitAmount: 4010, currency: 'isk' }, 'invalid_amount', 'unitAmount'],
    ['a three-decimal amount not ending in 0 (KWD 1.005)', { unitAmount: 1005, currency: 'kwd' }, 'invalid_amount', 'unitAmount'],
  ];
  for (const [name, price, code, field] of cases) {
    const created = await ctx.call('POST', '/v1/packs', { name: 'x', credits: 1, ...price });
    t.equal(created.status, 400, `create, ${name}: status`);
    t.match(created.body.error, { code, details: { field } }, `create, ${name}: the field`);
    const changed = await ctx.call('PATCH', `/v1/packs/${pack.id}`, price);
    t.equal(changed.status, 400, `change, ${name}: status`);
    t.match(changed.body.error, { code, details: { field } }, `change, ${name}: the field`);
  }
  t.equal(await products(), before, 'no Stripe Product was made');
  t.match((await ctx.call('GET', `/v1/packs/${pack.id}`)).body, { unitAmount: 500, currency: 'usd', stripePriceId: pack.stripePriceId }, 'the pack kept its price');
  t.equal((await ctx.call('GET', '/v1/packs?active=false')).body.data.length, 1, 'no pack was stored');
});

t.test('packs and plans: a change of name, description or active flag reaches their own Stripe Product, never an adopted one', async (t) => {
  const ctx = await build(t);
  const pack = (await ctx.call('POST', '/v1/packs', { name: 'Small', credits: 10, unitAmount: 100, currency: 'usd' })).body;
  const plan = (await ctx.call('POST', '/v1/plans', { name: 'Basic', credits: 10, unitAmount: 900, currency: 'usd', interval: 'month' })).body;
  for (const [path, item] of [['packs', pack], ['plans', plan]] as const) {
    const changed = await ctx.call('PATCH', `/v1/${path}/${item.id}`, { name: `${item.name} 2`, description: 'now described', active: false, credits: 20 });
    t.equal(changed.status, 200, path);
    t.match(changed.body, { name: `${item.name} 2`, description: 'now described', active: false, credits: 20 });
    t.match(await ctx.stripe.products.retrieve(item.stripeProductId), { name: `${item.name} 2`, description: 'now described', active: false }, `the ${path} product follows`);
  }

  const dashboard = await ctx.stripe.products.create({ name: 'Dashboard product' });
  const oneTime = await ctx.stripe.prices.create({ product: dashboard.id, unit_amount: 500, currency: 'usd' });
  const monthly = await ctx.stripe.prices.create({ product: dashboard.id, unit_amount: 700, currency: 'usd', recurring: { interval: 'month' } });
  const adoptedPack = (await ctx.call('POST', '/v1/packs', { name: 'Adopted', credits: 5, stripePriceId: oneTime.id })).body;
  const adoptedPlan = (await ctx.call('POST', '/v1/plans', { name: 'Adopted plan', credits: 5, stripePriceId: monthly.id })).body;
  t.equal((await ctx.call('PATCH', `/v1/packs/${adoptedPack.id}`, { name: 'Renamed in Tally' })).body.name, 'Renamed in Tally');
  t.equal((await ctx.call('PATCH', `/v1/plans/${adoptedPlan.id}`, { active: false })).body.active, false);
  t.match(await ctx.stripe.products.retrieve(dashboard.id), { name: 'Dashboard product', active: true }, 'a product managed in the Dashboard is left alone');

  const archivedOneTime = await ctx.stripe.prices.create({ product: dashboard.id, unit_amount: 600, currency: 'usd', active: false });
  const archivedMonthly = await ctx.stripe.prices.create({ product: dashboard.id, unit_amount: 800, currency: 'usd', recurring: { interval: 'month' }, active: false });
  for (const [path, priceId, item] of [['packs', archivedOneTime.id, adoptedPack], ['plans', archivedMonthly.id, adoptedPlan]] as const) {
    const created = await ctx.call('POST', `/v1/${path}`, { name: 'Archived', credits: 1, stripePriceId: priceId });
    t.equal(created.status, 400, `${path}: an archived price, which Checkout would refuse, is not adopted`);
    t.match(created.body.error, { code: 'invalid_request', details: { field: 'stripePriceId' } });
    const patched = await ctx.call('PATCH', `/v1/${path}/${item.id}`, { stripePriceId: priceId });
    t.equal(patched.status, 400, `${path}: nor given to an item`);
    t.equal((await ctx.call('GET', `/v1/${path}/${item.id}`)).body.stripePriceId, item.stripePriceId, `${path}: the item keeps its price`);
  }
  for (const path of ['packs', 'plans']) {
    const all = (await ctx.call('GET', `/v1/${path}?active=false`)).body.data as { name: string }[];
    t.equal(all.filter((item) => item.name === 'Archived').length, 0, `${path}: nothing stored`);
  }

  const unknown = await ctx.call('POST', '/v1/plans', { name: 'X', credits: 1, stripePriceId: 'price_nope' });
  t.equal(unknown.body.error?.code, 'unknown_stripe_price');
  t.equal((await ctx.call('POST', '/v1/packs', { name: 'X', credits: 1, stripePriceId: 'price_nope' })).body.error?.code, 'unknown_stripe_price');
});

t.test('packs and plans: a Dashboard price that divides its quantity before billing is refused, since a checkout would be paid less than the credits it grants', async (t) => {
  const ctx = await build(t);
  const dashboard = await ctx.stripe.products.create({ name: 'Per ten' });
  const oneTime = await ctx.stripe.prices.create({ product: dashboard.id, unit_amount: 1000, currency: 'usd', transform_quantity: { divide_by: 10, round: 'up' } });
  const monthly = await ctx.stripe.prices.create({ product: dashboard.id, unit_amount: 1000, currency: 'usd', recurring: { interval: 'month' }, transform_quantity: { divide_by: 10, round: 'up' } });
  // What Stripe would charge for ten units of it: one tenth, rounded up.
  const session = await ctx.stripe.checkout.sessions.create({ mode: 'payment', line_items: [{ price: oneTime.id, quantity: 10 }], success_url: 'https://example.test/ok' });
  t.equal(session.amount_total, 1000, 'ten units of a price per ten are paid as one');

  const own = { packs: (await ctx.call('POST', '/v1/packs', { name: 'Own', credits: 5, unitAmount: 500, currency: 'usd' })).body, plans: (await ctx.call('POST', '/v1/plans', { name: 'Own', credits: 5, unitAmount: 500, currency: 'usd', interval: 'month' })).body };
  for (const [path, priceId] of [['packs', oneTime.id], ['plans', monthly.id]] as const) {
    const created = await ctx.call('POST', `/v1/${path}`, { name: 'Per ten', credits: 100, stripePriceId: priceId });
    t.equal(created.status, 400, `${path}: not adopted`);
    t.match(created.body.error, { code: 'invalid_request', message: /per-unit/, details: { field: 'stripePriceId' } });
    const patched = await ctx.call('PATCH', `/v1/${path}/${own[path].id}`, { stripePriceId: priceId });
    t.equal(patched.status, 400, `${path}: nor given to an item`);
    t.equal((await ctx.call('GET', `/v1/${path}/${own[path].id}`)).body.stripePriceId, own[path].stripePriceId, `${path}: the item keeps its price`);
    t.same((await ctx.call('GET', `/v1/${path}?active=false`)).body.data.filter((item: { name: string }) => item.name === 'Per ten'), [], `${path}: nothing stored`);
  }
});

t.test('packs and plans: a price changed back to an earlier amount is a new, active Price that sells', async (t) => {
  const ctx = await build(t);
  for (const [path, item, bought] of await packAndPlan(ctx, 'acct_back', 'Back', 900)) {
    t.equal((await ctx.call('PATCH', `/v1/${path}/${item.id}`, { unitAmount: 1200 })).status, 200);
    const back = await ctx.call('PATCH', `/v1/${path}/${item.id}`, { unitAmount: 900 });
    t.equal(back.status, 200);
    t.not(back.body.stripePriceId, item.stripePriceId, `${path}: not the first Price again, which the first change deactivated`);
    t.match(await ctx.stripe.prices.retrieve(back.body.stripePriceId), { active: true, unit_amount: 900 });
    const opened = await checkout(ctx, 'acct_back', bought);
    t.equal(opened.status, 201, `${path}: ${JSON.stringify(opened.body)}`);
  }
});

t.test('packs and plans: a new amount whose PATCH fails at Stripe half-way keeps selling at the old price; sent again, it is made once', async (t) => {
  const ctx = await build(t);
  for (const [path, item, bought] of await packAndPlan(ctx, 'acct_half', 'Half', 900)) {
    const change = { unitAmount: item.unitAmount + 200, name: 'Renamed' };
    ctx.simulator.failNext({ method: 'POST', path: `^/v1/products/${item.stripeProductId}$`, status: 500, error: { type: 'api_error', message: 'down' } });
    t.equal((await ctx.call('PATCH', `/v1/${path}/${item.id}`, change)).status, 502, `${path}: the product update failed`);
    t.match((await ctx.call('GET', `/v1/${path}/${item.id}`)).body, { stripePriceId: item.stripePriceId, unitAmount: item.unitAmount, name: 'Half' }, `${path}: nothing saved`);
    t.equal((await ctx.stripe.prices.retrieve(item.stripePriceId)).active, true, `${path}: the price it still names is still active`);
    const meanwhile = await checkout(ctx, 'acct_half', bought);
    t.equal(meanwhile.status, 201, `${path}: it sells meanwhile: ${JSON.stringify(meanwhile.body?.error)}`);

    const again = await ctx.call('PATCH', `/v1/${path}/${item.id}`, change);
    t.match(again, { status: 200, body: { unitAmount: change.unitAmount, name: 'Renamed' } }, `${path}: sent again, it is made`);
    t.equal((await ctx.stripe.prices.retrieve(item.stripePriceId)).active, false, `${path}: the old price is deactivated`);
    t.equal((await ctx.stripe.prices.list({ product: item.stripeProductId, limit: 10 })).data.length, 2, `${path}: the retry made no second new price`);
    t.equal((await checkout(ctx, 'acct_half', bought)).status, 201, `${path}: it sells at the new price`);
  }
});

t.test('packs and plans: an old price Stripe fails to deactivate once the new one is saved is left active; the PATCH succeeds and sells the new one', async (t) => {
  const ctx = await build(t);
  for (const [path, item, bought] of await packAndPlan(ctx, 'acct_left', 'Left', 900)) {
    ctx.simulator.failNext({ method: 'POST', path: `^/v1/prices/${item.stripePriceId}$`, status: 500, error: { type: 'api_error', message: 'down' } });
    const changed = await ctx.call('PATCH', `/v1/${path}/${item.id}`, { unitAmount: item.unitAmount + 200 });
    t.match(changed, { status: 200, body: { unitAmount: item.unitAmount + 200 } }, path);
    t.equal((await ctx.stripe.prices.retrieve(item.stripePriceId)).active, true, `${path}: the old price is left active, sold by nothing of Tally's`);
    t.ok(ctx.logs.some((line) => JSON.parse(line).level === 40 && line.includes(item.stripePriceId)), `${path}: a warning names it`);
    const opened = await checkout(ctx, 'acct_left', bought);
    t.equal(opened.status, 201, `${path}: ${JSON.stringify(opened.body?.error)}`);
  }
});

t.test('packs and plans made under another Stripe key (test mode, then live) still sell: Tally\'s own prices are made again, once; an adopted one is a 409 naming it', async (t) => {
  const testMode = await build(t);
  const made = async (path: 'packs' | 'plans', body: Record<string, unknown>) => (await testMode.call('POST', `/v1/${path}`, body, { 'idempotency-key': key(path) })).body;
  const pack = await made('packs', { name: 'Starter', description: 'First credits', credits: 100, unitAmount: 500, currency: 'usd' });
  const repriced = await made('packs', { name: 'Repriced', credits: 50, unitAmount: 300, currency: 'usd' });
  const renamed = await made('packs', { name: 'Old name', credits: 10, unitAmount: 200, currency: 'usd' });
  const plan = await made('plans', { name: 'Basic', credits: 1000, unitAmount: 900, currency: 'usd', interval: 'month' });
  const pro = await made('plans', { name: 'Pro', credits: 5000, unitAmount: 2900, currency: 'usd', interval: 'month' });
  const dashboardPrice = await testMode.stripe.prices.create({ product: (await testMode.stripe.products.create({ name: 'Dashboard' })).id, unit_amount: 700, currency: 'usd' });
  const adopted = await made('packs', { name: 'Adopted', credits: 70, stripePriceId: dashboardPrice.id });
  await testMode.call('PUT', '/v1/accounts/acct_live', { email: 'live@example.com' });

  // The same database, with a Stripe account that has never seen any of it.
  const live = await build(t, { databaseUrl: testMode.databaseUrl, listen: true });
  const buy = (body: Record<string, unknown>) => live.call('POST', '/v1/checkout/sessions', { accountId: 'acct_live', ...body }, { key: live.serviceKey, 'idempotency-key': key('buy') });
  const rowOf = async (table: 'packs' | 'plans', id: string) => (await live.database.pool.query(`SELECT stripe_product_id, stripe_price_id, managed_price FROM ${table} WHERE id = $1`, [id])).rows[0];
  const productsOf = async (metadataKey: string, id: string) => (await live.stripe.products.list({ limit: 100 })).data.filter((product) => product.metadata[metadataKey] === id);

  const racing = await Promise.all([1, 2, 3].map(() => buy({ packId: pack.id })));
  t.same(racing.map((reply) => reply.status), [201, 201, 201], JSON.stringify(racing.map((reply) => reply.body)));
  const packNow = await rowOf('packs', pack.id);
  t.not(packNow.stripe_price_id, pack.stripePriceId, 'the pack has a price of the live account');
  t.match(await live.stripe.prices.retrieve(packNow.stripe_price_id), { unit_amount: 500, currency: 'usd', active: true, product: packNow.stripe_product_id, metadata: { tally_pack_id: pack.id } });
  t.match(await live.stripe.products.retrieve(packNow.stripe_product_id), { name: 'Starter', description: 'First credits' });
  t.equal((await productsOf('tally_pack_id', pack.id)).length, 1, 'three checkouts at once made one product');
  for (const reply of racing) {
    const items = await live.stripe.checkout.sessions.listLineItems(reply.body.id);
    t.equal(items.data[0]?.price?.id, packNow.stripe_price_id, 'each session sells the new price');
  }
  await live.simulator.pay(racing[0]!.body.id);
  await eventually(async () => (await live.call('GET', '/v1/accounts/acct_live/balance')).body.available === 100);
  t.pass('and a paid one grants the pack');
  t.equal((await buy({ packId: pack.id })).status, 201, 'a later checkout uses the stored price');
  t.equal((await productsOf('tally_pack_id', pack.id)).length, 1, 'and makes nothing more');

  const planCheckout = await buy({ planId: plan.id });
  t.equal(planCheckout.status, 201, JSON.stringify(planCheckout.body));
  const planNow = await rowOf('plans', plan.id);
  t.match(await live.stripe.prices.retrieve(planNow.stripe_price_id), { unit_amount: 900, recurring: { interval: 'month' }, metadata: { tally_plan_id: plan.id } });
  const planPrices = (await live.database.pool.query('SELECT stripe_price_id FROM plan_prices WHERE plan_id = $1 ORDER BY created_at', [plan.id])).rows.map((row) => row.stripe_price_id);
  t.same(planPrices, [plan.stripePriceId, planNow.stripe_price_id], 'the old price still leads to the plan');

  // A change of plan to a plan whose price the live account does not know.
  await live.simulator.pay(planCheckout.body.id);
  const session = await live.stripe.checkout.sessions.retrieve(planCheckout.body.id);
  const subscription = session.subscription as string;
  await eventually(async () => (await live.database.pool.query('SELECT 1 FROM subscriptions WHERE stripe_subscription_id = $1', [subscription])).rowCount);
  const changed = await live.call('POST', `/v1/subscriptions/${subscription}/change`, { planId: pro.id });
  t.equal(changed.status, 200, JSON.stringify(changed.body));
  t.equal(changed.body.planId, pro.id);
  const proNow = await rowOf('plans', pro.id);
  t.equal((await live.stripe.subscriptions.retrieve(subscription)).items.data[0]?.price.id, proNow.stripe_price_id, 'the subscription is on the new price');

  const newAmount = await live.call('PATCH', `/v1/packs/${repriced.id}`, { unitAmount: 400 });
  t.equal(newAmount.status, 200, `a new amount for a pack whose product Stripe does not know: ${JSON.stringify(newAmount.body)}`);
  t.match(await live.stripe.prices.retrieve(newAmount.body.stripePriceId), { unit_amount: 400, product: newAmount.body.stripeProductId });
  t.match(await live.stripe.products.retrieve(newAmount.body.stripeProductId), { name: 'Repriced' });
  t.equal((await buy({ packId: repriced.id })).status, 201);

  const newName = await live.call('PATCH', `/v1/packs/${renamed.id}`, { name: 'New name' });
  t.equal(newName.status, 200, `a new name for a pack whose product Stripe does not know: ${JSON.stringify(newName.body)}`);
  t.equal((await buy({ packId: renamed.id })).status, 201);
  t.match(await live.stripe.products.retrieve((await rowOf('packs', renamed.id)).stripe_product_id), { name: 'New name' }, 'made again as the pack is now');

  const refused = await buy({ packId: adopted.id });
  t.equal(refused.status, 409, 'a price managed in the Dashboard is not Tally\'s to make');
  t.match(refused.body.error, { code: 'stripe_price_missing', details: { packId: adopted.id, stripePriceId: dashboardPrice.id } });
  t.equal((await rowOf('packs', adopted.id)).stripe_price_id, dashboardPrice.id, 'and it is left as it was');
  const liveDashboardPrice = await live.stripe.prices.create({ product: (await live.stripe.products.create({ name: 'Dashboard' })).id, unit_amount: 700, currency: 'usd' });
  t.equal((await live.call('PATCH', `/v1/packs/${adopted.id}`, { stripePriceId: liveDashboardPrice.id })).status, 200);
  t.equal((await buy({ packId: adopted.id })).status, 201, 'until the operator gives it a price of this account');
});

t.test('packs and plans: a Dashboard price given to an item Tally priced is the Dashboard\'s from then on', async (t) => {
  const ctx = await build(t);
  const dashboard = await ctx.stripe.products.create({ name: 'Dashboard product' });
  const items = [
    ['packs', { name: 'Own', credits: 10, unitAmount: 500, currency: 'usd' }, await ctx.stripe.prices.create({ product: dashboard.id, unit_amount: 800, currency: 'usd' })],
    ['plans', { name: 'Own', credits: 10, unitAmount: 500, currency: 'usd', interval: 'month' }, await ctx.stripe.prices.create({ product: dashboard.id, unit_amount: 800, currency: 'usd', recurring: { interval: 'month' } })],
  ] as const;
  for (const [path, body, price] of items) {
    const item = (await ctx.call('POST', `/v1/${path}`, body)).body;
    const adopted = await ctx.call('PATCH', `/v1/${path}/${item.id}`, { stripePriceId: price.id });
    t.match(adopted.body, { stripePriceId: price.id, stripeProductId: dashboard.id, unitAmount: 800 }, `${path}: the price and its product`);
    const repriced = await ctx.call('PATCH', `/v1/${path}/${item.id}`, { unitAmount: 900 });
    t.equal(repriced.body.error?.code, 'price_managed_elsewhere', `${path}: a new amount is the Dashboard's to set`);
    t.equal((await ctx.stripe.prices.retrieve(price.id)).active, true, `${path}: the Dashboard's price is not deactivated`);
    t.equal((await ctx.call('PATCH', `/v1/${path}/${item.id}`, { name: 'Renamed' })).status, 200);
  }
  t.equal((await ctx.stripe.products.retrieve(dashboard.id)).name, 'Dashboard product', 'nor is its product renamed');
});

t.test("packs and plans: a Stripe price another pack or plan sells is a 409 price_in_use, before Stripe is asked for anything", async (t) => {
  const ctx = await build(t);
  const packs = [0, 1].map(async (i) => (await ctx.call('POST', '/v1/packs', { name: `Pack ${i}`, credits: 10, unitAmount: 500 + i, currency: 'usd' })).body);
  const plans = [0, 1].map(async (i) => (await ctx.call('POST', '/v1/plans', { name: `Plan ${i}`, credits: 10, unitAmount: 900 + i, currency: 'usd', interval: 'month' })).body);
  const [packA, packB, planA, planB] = await Promise.all([...packs, ...plans]);
  const inUse = (answer: { status: number; body: any }) => ({ status: answer.status, code: answer.body.error?.code, price: answer.body.error?.details?.stripePriceId });
  for (const [path, a, b] of [['packs', packA, packB], ['plans', planA, planB]] as const) {
    const changed = await ctx.call('PATCH', `/v1/${path}/${b.id}`, { name: 'Renamed', stripePriceId: a.stripePriceId });
    t.same(inUse(changed), { status: 409, code: 'price_in_use', price: a.stripePriceId }, `PATCH ${path}: a 409, not a 500`);
    t.match((await ctx.call('GET', `/v1/${path}/${b.id}`)).body, { name: b.name, stripePriceId: b.stripePriceId }, `${path}: nothing changed`);
    t.equal((await ctx.stripe.products.retrieve(b.stripeProductId)).name, b.name, `${path}: its Stripe product not renamed`);
    const created = await ctx.call('POST', `/v1/${path}`, { name: 'Copy', credits: 5, stripePriceId: a.stripePriceId }, { 'idempotency-key': key() });
    t.same(inUse(created), { status: 409, code: 'price_in_use', price: a.stripePriceId }, `POST ${path}: a 409, not a 404 for an item never made`);
  }
  t.equal((await ctx.call('GET', '/v1/packs')).body.data.length, 2, 'no pack made');
  t.equal((await ctx.call('PATCH', `/v1/packs/${packA.id}`, { stripePriceId: packA.stripePriceId, name: 'Same price' })).status, 200, 'its own price is no conflict');
});
