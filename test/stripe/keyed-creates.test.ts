import t from 'tap';
import { build, eventually, key, type TestApp } from '../helper.js';
import { accountAndPack } from './fixtures.js';

t.test('packs, plans, bills and checkouts keep the Idempotency-Key contract: the same request replays, another is a 409 before Stripe is asked', async (t) => {
  const ctx = await build(t);
  const { pack } = await accountAndPack(ctx, 'acct_keys');
  const stripeObjects = async () => ({
    products: (await ctx.stripe.products.list({ limit: 100 })).data.length,
    sessions: (await ctx.stripe.checkout.sessions.list({ limit: 100 })).data.length,
  });
  const creates: Array<[string, string, Record<string, unknown>, Record<string, unknown>]> = [
    ['pack', '/v1/packs', { name: 'Keyed', credits: 100, unitAmount: 900, currency: 'usd' }, { name: 'Keyed', credits: 200, unitAmount: 900, currency: 'usd' }],
    ['plan', '/v1/plans', { name: 'Keyed', credits: 100, unitAmount: 900, currency: 'usd', interval: 'month' }, { name: 'Keyed', credits: 100, unitAmount: 900, currency: 'usd', interval: 'year' }],
    ['bill', '/v1/bills', { accountId: 'acct_keys', name: 'Setup', amount: 5000, currency: 'usd' }, { accountId: 'acct_keys', name: 'Setup', amount: 6000, currency: 'usd' }],
    ['checkout', '/v1/checkout/sessions', { accountId: 'acct_keys', packId: pack.id }, { accountId: 'acct_keys', packId: pack.id, quantity: 2 }],
  ];
  for (const [name, path, body, otherBody] of creates) {
    const k = key(name);
    const first = await ctx.call('POST', path, body, { 'idempotency-key': k });
    t.equal(first.status, 201, `${name}: created`);
    t.equal(first.headers['idempotent-replayed'], undefined, `${name}: not a replay`);
    const again = await ctx.call('POST', path, body, { 'idempotency-key': k });
    t.same({ status: again.status, body: again.body }, { status: first.status, body: first.body }, `${name}: the same request again answers the first answer, its status too`);
    t.equal(again.headers['idempotent-replayed'], 'true', `${name}: says it is a replay`);
    const before = await stripeObjects();
    const other = await ctx.call('POST', path, otherBody, { 'idempotency-key': k });
    t.equal(other.status, 409, `${name}: the same key with another body`);
    t.match(other.body.error, { code: 'idempotency_key_reused', details: { idempotencyKey: k } }, `${name}: names the key`);
    t.same(await stripeObjects(), before, `${name}: Stripe was not asked`);
  }

  const spendKey = key('spend');
  await ctx.call('POST', '/v1/accounts/acct_keys/grants', { amount: 10 }, { 'idempotency-key': key() });
  t.equal((await ctx.call('POST', '/v1/accounts/acct_keys/spend', { amount: 1 }, { 'idempotency-key': spendKey })).status, 200);
  const crossed = await ctx.call('POST', '/v1/packs', { name: 'Crossed', credits: 1, unitAmount: 900, currency: 'usd' }, { 'idempotency-key': spendKey });
  t.equal(crossed.status, 409, "a spend's key is not a pack's");
  const packKey = key('pack');
  t.equal((await ctx.call('POST', '/v1/packs', { name: 'Then spent', credits: 1, unitAmount: 900, currency: 'usd' }, { 'idempotency-key': packKey })).status, 201);
  t.equal((await ctx.call('POST', '/v1/accounts/acct_keys/spend', { amount: 1 }, { 'idempotency-key': packKey })).status, 409, "nor a pack's a spend's");

  // A plan's body may be a pack's, to the letter (interval and rollover have defaults): only the operation tells them apart.
  const offer = { name: 'Either', credits: 100, unitAmount: 900, currency: 'usd' };
  const offerKey = key('offer');
  t.equal((await ctx.call('POST', '/v1/packs', offer, { 'idempotency-key': offerKey })).status, 201);
  const planUnderPackKey = await ctx.call('POST', '/v1/plans', offer, { 'idempotency-key': offerKey });
  t.same({ status: planUnderPackKey.status, code: planUnderPackKey.body.error?.code }, { status: 409, code: 'idempotency_key_reused' }, "the very same body as a plan, under the pack's key: a 409");
  t.same((await ctx.call('GET', '/v1/plans?active=false')).body.data.map((p: { name: string }) => p.name), ['Keyed'], 'and no plan made');
});

t.test('a refused create records nothing: the same key, corrected, creates', async (t) => {
  const ctx = await build(t);
  const k = key('pack');
  const refused = await ctx.call('POST', '/v1/packs', { name: 'Cheap', credits: 1, unitAmount: 10, currency: 'usd' }, { 'idempotency-key': k });
  t.equal(refused.status, 400);
  const stripeDown = await (async () => {
    ctx.simulator.failNext({ method: 'POST', path: '/v1/products', status: 500 });
    return ctx.call('POST', '/v1/packs', { name: 'Cheap', credits: 1, unitAmount: 100, currency: 'usd' }, { 'idempotency-key': k });
  })();
  t.equal(stripeDown.status, 502, 'Stripe failing is not a result either');
  const corrected = await ctx.call('POST', '/v1/packs', { name: 'Cheap', credits: 1, unitAmount: 100, currency: 'usd' }, { 'idempotency-key': k });
  t.equal(corrected.status, 201);
  t.equal(corrected.headers['idempotent-replayed'], undefined);
});

t.test('two different requests racing with one new key: one creates, the other is a 409, whatever the order', async (t) => {
  const ctx = await build(t);
  await ctx.call('PUT', '/v1/accounts/acct_race', {});
  for (let round = 0; round < 5; round++) {
    const k = key('race');
    // The bodies differ only in what Stripe never sees (credits): Stripe would replay one for the other.
    const bodies = [100, 200].map((credits) => ({ name: `Race ${round}`, credits, unitAmount: 900, currency: 'usd' }));
    const replies = await Promise.all(bodies.map((body) => ctx.call('POST', '/v1/packs', body, { 'idempotency-key': k })));
    const statuses = replies.map((r) => r.status).sort();
    t.same(statuses, [201, 409], `round ${round}: one created, one refused`);
    const won = replies.find((r) => r.status === 201)!;
    const lost = replies.find((r) => r.status === 409)!;
    t.equal(lost.body.error.code, 'idempotency_key_reused');
    const stored = (await ctx.call('GET', `/v1/packs/${won.body.id}`)).body;
    t.equal(stored.credits, won.body.credits, 'the pack stored is the one its create answered');
    const again = await ctx.call('POST', '/v1/packs', bodies.find((b) => b.credits === won.body.credits), { 'idempotency-key': k });
    t.equal(again.headers['idempotent-replayed'], 'true', 'and the winner\'s request replays');
  }
  // Bills too: their id is the key's, and the race is on the bill row.
  const k = key('bill-race');
  const bills = await Promise.all([5000, 6000].map((amount) => ctx.call('POST', '/v1/bills', { accountId: 'acct_race', name: 'Setup', amount, currency: 'usd' }, { 'idempotency-key': k })));
  t.same(bills.map((r) => r.status).sort(), [201, 409]);
});

t.test("a checkout sent again with its key answers the session it opened, whatever became of the pack or plan since: never a second session", async (t) => {
  const ctx = await build(t);
  const { pack } = await accountAndPack(ctx, 'acct_replayed');
  const plan = (await ctx.call('POST', '/v1/plans', { name: 'Basic', credits: 100, unitAmount: 900, currency: 'usd', interval: 'month' })).body;
  const sessions = async () => (await ctx.stripe.checkout.sessions.list({ limit: 100 })).data.map((s) => `${s.id} ${s.status}`).sort();
  for (const [name, body, path] of [['pack', { accountId: 'acct_replayed', packId: pack.id }, `/v1/packs/${pack.id}`], ['plan', { accountId: 'acct_replayed', planId: plan.id }, `/v1/plans/${plan.id}`]] as const) {
    const k = key(name);
    const first = await ctx.call('POST', '/v1/checkout/sessions', body, { 'idempotency-key': k });
    t.equal(first.status, 201, `${name}: opened`);
    const opened = await sessions();
    t.equal((await ctx.call('PATCH', path, { unitAmount: 1200 })).status, 200, `${name}: a new price`);
    const repriced = await ctx.call('POST', '/v1/checkout/sessions', body, { 'idempotency-key': k });
    t.same({ status: repriced.status, id: repriced.body.id, url: repriced.body.url, replayed: repriced.headers['idempotent-replayed'] }, { status: 201, id: first.body.id, url: first.body.url, replayed: 'true' }, `${name}: the first session`);
    t.equal((await ctx.call('PATCH', path, { active: false })).status, 200, `${name}: taken off sale`);
    const offSale = await ctx.call('POST', '/v1/checkout/sessions', body, { 'idempotency-key': k });
    t.same({ status: offSale.status, id: offSale.body.id }, { status: 201, id: first.body.id }, `${name}: still the first session, not a 400`);
    t.same(await sessions(), opened, `${name}: no second session at Stripe, and the first still open`);
  }
});

t.test('a create that failed at Stripe can be sent again with its key and another body: Stripe is never handed the first attempt\'s key with other parameters (its 400 idempotency_error)', async (t) => {
  const ctx = await build(t, { env: { STRIPE_TIMEOUT_MS: '1500' } });
  await ctx.call('PUT', '/v1/accounts/acct_corrected', {});
  const packKey = key('pack');
  // The product is made, then the price fails: Stripe keeps the product's key with the first name.
  ctx.simulator.failNext({ method: 'POST', path: '/v1/prices', status: 500 });
  const failed = await ctx.call('POST', '/v1/packs', { name: 'Draft', credits: 100, unitAmount: 900, currency: 'usd' }, { 'idempotency-key': packKey });
  t.equal(failed.status, 502, 'the pack: Stripe failed');
  const renamed = await ctx.call('POST', '/v1/packs', { name: 'Final', credits: 100, unitAmount: 900, currency: 'usd' }, { 'idempotency-key': packKey });
  t.equal(renamed.status, 201, `the pack, corrected, is created: ${JSON.stringify(renamed.body)}`);
  if (renamed.status === 201) t.equal((await ctx.stripe.products.retrieve(renamed.body.stripeProductId)).name, 'Final', 'and its product has the corrected name');

  const planKey = key('plan');
  ctx.simulator.failNext({ method: 'POST', path: '/v1/prices', status: 500 });
  t.equal((await ctx.call('POST', '/v1/plans', { name: 'Draft', credits: 100, unitAmount: 900, currency: 'usd', interval: 'month' }, { 'idempotency-key': planKey })).status, 502, 'the plan: Stripe failed');
  const plan = await ctx.call('POST', '/v1/plans', { name: 'Final', credits: 100, unitAmount: 900, currency: 'usd', interval: 'month' }, { 'idempotency-key': planKey });
  t.equal(plan.status, 201, `the plan, corrected, is created: ${JSON.stringify(plan.body)}`);

  // Stripe made the session but did not answer in time: Tally answers 503 and gives the key back.
  const checkoutKey = key('checkout');
  ctx.simulator.failNext({ method: 'POST', path: '/v1/checkout/sessions', delayMs: 3000 });
  const timedOut = await ctx.call('POST', '/v1/checkout/sessions', { accountId: 'acct_corrected', packId: renamed.body.id }, { 'idempotency-key': checkoutKey });
  t.equal(timedOut.status, 503, 'the checkout: Stripe did not answer in time');
  await eventually(async () => (await ctx.stripe.checkout.sessions.list()).data.length > 0); // Stripe made it, late
  const two = await ctx.call('POST', '/v1/checkout/sessions', { accountId: 'acct_corrected', packId: renamed.body.id, quantity: 2 }, { 'idempotency-key': checkoutKey });
  t.equal(two.status, 201, `the checkout, corrected, is opened: ${JSON.stringify(two.body)}`);
  t.equal(two.body.credits, 200, 'for what the corrected request asks');
});

// A client sends a create (its first attempt), slow at Stripe, and sends it again with the same key
// meanwhile (its retry, after its own timeout).
const KEYED_CREATES = [
  ['pack', '/v1/packs', '/v1/products', async () => ({ name: 'Racy', credits: 100, unitAmount: 900, currency: 'usd' }), { credits: 999 }],
  ['checkout', '/v1/checkout/sessions', '/v1/checkout/sessions', async (ctx: TestApp) => ({ accountId: 'acct_slow', packId: (await accountAndPack(ctx, 'acct_slow')).pack.id }), { quantity: 3 }],
  ['bill', '/v1/bills', '/v1/checkout/sessions', async (ctx: TestApp) => ({ accountId: (await ctx.call('PUT', '/v1/accounts/acct_slow', {})).body.id, name: 'Setup', amount: 5000, currency: 'usd' }), { amount: 9000 }],
] as const;

/** Sends `body` with key `k`, waits until it is held at Stripe by the rule just set, and sends it again. */
async function sentTwice(ctx: TestApp, path: string, body: unknown, k: string) {
  const first = ctx.call('POST', path, body, { 'idempotency-key': k });
  await eventually(async () => ctx.simulator.pendingFailures() === 0);
  const retry = await ctx.call('POST', path, body, { 'idempotency-key': k });
  return { first: await first, retry };
}

t.test('a create made by the retry while the first attempt was held keeps its key when the first then fails: another request under it is a 409, the same one answers what the retry made', async (t) => {
  for (const [name, path, stripePath, bodyFor, change] of KEYED_CREATES) {
    const ctx = await build(t);
    const body = await bodyFor(ctx);
    const k = key(name);
    // Held before Stripe's idempotency layer, then rate limited: the retry gets past it meanwhile.
    ctx.simulator.failNext({ method: 'POST', path: stripePath, delayMs: 1500, status: 429 });
    const { first, retry } = await sentTwice(ctx, path, body, k);
    t.equal(retry.status, 201, `${name}: the retry made it`);
    t.equal(first.status, 503, `${name}: the first attempt failed after (${first.body.error?.code})`);
    const other = await ctx.call('POST', path, { ...body, ...change }, { 'idempotency-key': k });
    t.same([other.status, other.body.error?.code], [409, 'idempotency_key_reused'], `${name}: another request under the key`);
    const again = await ctx.call('POST', path, body, { 'idempotency-key': k });
    t.same([again.status, again.body.id, again.headers['idempotent-replayed']], [201, retry.body.id, 'true'], `${name}: the same request answers what the retry made`);
  }
});

t.test('when the first attempt and its retry both fail, the key is given back: the same key, corrected, creates', async (t) => {
  const ctx = await build(t);
  const body = { name: 'Both fail', credits: 100, unitAmount: 900, currency: 'usd' };
  const k = key('pack');
  ctx.simulator.failNext({ method: 'POST', path: '/v1/products', delayMs: 1000, status: 429 });
  ctx.simulator.failNext({ method: 'POST', path: '/v1/products', status: 429 });
  const first = ctx.call('POST', '/v1/packs', body, { 'idempotency-key': k });
  await eventually(async () => ctx.simulator.pendingFailures() === 1);
  const retry = await ctx.call('POST', '/v1/packs', body, { 'idempotency-key': k });
  t.same([retry.status, (await first).status], [503, 503], 'both rate limited');
  const corrected = await ctx.call('POST', '/v1/packs', { ...body, credits: 200 }, { 'idempotency-key': k });
  t.same([corrected.status, corrected.body.credits, corrected.headers['idempotent-replayed']], [201, 200, undefined], 'the key was free again');
});

t.test('a retry while Stripe is still making what the first attempt asked is a 409 request_in_progress, to send again: then it answers what the first made', async (t) => {
  for (const [name, path, stripePath, bodyFor] of KEYED_CREATES.slice(0, 2)) {
    // Stripe's SDK retries Stripe's own 409 as often as STRIPE_MAX_RETRIES allows (2, as in production).
    const ctx = await build(t, { env: { STRIPE_MAX_RETRIES: '2' } });
    const body = await bodyFor(ctx);
    const k = key(name);
    // Held after Stripe took its idempotency key: Stripe answers a request with that key meanwhile with a 409.
    ctx.simulator.failNext({ method: 'POST', path: stripePath, delayMs: 5000, saved: true });
    const { first, retry } = await sentTwice(ctx, path, body, k);
    t.equal(first.status, 201, `${name}: the first attempt made it`);
    t.same([retry.status, retry.body.error?.code, retry.headers['retry-after']], [409, 'request_in_progress', '1'], `${name}: the retry is told to send it again`);
    t.notMatch(ctx.logs.join(''), /"level":50/, `${name}: not logged as an error`);
    const again = await ctx.call('POST', path, body, { 'idempotency-key': k });
    t.same([again.status, again.body.id], [201, first.body.id], `${name}: sent again, it answers what the first made`);
  }
});

t.test('every keyed write answers a replay with the status of its first answer, and says it is a replay', async (t) => {
  const ctx = await build(t);
  await ctx.call('PUT', '/v1/accounts/acct_replays', {});
  const twice = async (name: string, path: string, body: unknown, status: number) => {
    const k = { 'idempotency-key': key(name) };
    const first = await ctx.call('POST', path, body, k);
    const again = await ctx.call('POST', path, body, k);
    t.same([first.status, again.status, again.headers['idempotent-replayed']], [status, status, 'true'], `${name}: ${status}, then ${status} again, replayed`);
    return first.body;
  };
  await twice('grant', '/v1/accounts/acct_replays/grants', { amount: 100 }, 201);
  await twice('spend', '/v1/accounts/acct_replays/spend', { amount: 1 }, 200);
  const hold = await twice('hold', '/v1/accounts/acct_replays/holds', { amount: 5 }, 201);
  await twice('capture', `/v1/holds/${hold.id}/capture`, { amount: 1 }, 200);
  const other = await twice('hold', '/v1/accounts/acct_replays/holds', { amount: 5 }, 201);
  await twice('release', `/v1/holds/${other.id}/release`, {}, 200);
});

t.test('a pack or plan key reused once its record is purged makes the item asked for, never answers with the one it made before', async (t) => {
  const ctx = await build(t);
  const creates: Array<[string, string, Record<string, unknown>, Record<string, unknown>]> = [
    ['pack', '/v1/packs', { name: 'First', credits: 100, unitAmount: 900, currency: 'usd' }, { name: 'Second', credits: 250, unitAmount: 1900, currency: 'eur' }],
    ['plan', '/v1/plans', { name: 'First', credits: 100, unitAmount: 900, currency: 'usd', interval: 'month' }, { name: 'Second', credits: 250, unitAmount: 1900, currency: 'usd', interval: 'year' }],
  ];
  for (const [name, path, body, otherBody] of creates) {
    const k = key(name);
    const first = await ctx.call('POST', path, body, { 'idempotency-key': k });
    t.equal(first.status, 201, `${name}: created`);
    await ctx.database.pool.query('DELETE FROM idempotency_records WHERE key = $1', [k]); // past IDEMPOTENCY_RETENTION_HOURS
    const reused = await ctx.call('POST', path, otherBody, { 'idempotency-key': k });
    t.equal(reused.status, 201, `${name}: a purged key is a new request`);
    t.match(reused.body, otherBody, `${name}: the item asked for, not the one the key made before`);
    t.not(reused.body.id, first.body.id, `${name}: an item of its own`);
    await ctx.database.pool.query('DELETE FROM idempotency_records WHERE key = $1', [k]);
    const same = await ctx.call('POST', path, { ...body }, { 'idempotency-key': k });
    t.equal(same.body.id, first.body.id, `${name}: the first request sent again (its record gone too) still finds its item`);
  }
});
