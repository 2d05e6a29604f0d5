import t from 'tap';
import { ADMIN_KEY, build } from '../helper.js';

// Review of the HTTP surface (area "surface"). Each test fails on the current code because of a defect.

t.test('a pack created with stripePriceId and a unitAmount/currency the price does not have is refused, not sold at the price\'s amount', async (t) => {
  const ctx = await build(t);
  const product = await ctx.stripe.products.create({ name: 'Dashboard product' });
  const price = await ctx.stripe.prices.create({ product: product.id, unit_amount: 5000, currency: 'eur' });
  const reply = await ctx.call('POST', '/v1/packs', { name: 'Starter', credits: 1000, unitAmount: 500, currency: 'usd', stripePriceId: price.id });
  // The client asked for a $5.00 pack; the price it named sells EUR 50.00. One of the two is silently dropped.
  t.equal(reply.status, 400, `refused: ${JSON.stringify(reply.body)}`);
  const { rows } = await ctx.database.pool.query('SELECT unit_amount, currency FROM packs');
  t.same(rows, [], 'no pack was stored');
});

t.test('a pack PATCH with a new unitAmount and a stripePriceId does not silently drop the stripePriceId', async (t) => {
  const ctx = await build(t);
  const pack = (await ctx.call('POST', '/v1/packs', { name: 'Starter', credits: 1000, unitAmount: 500, currency: 'usd' })).body;
  const product = await ctx.stripe.products.create({ name: 'Dashboard product' });
  const price = await ctx.stripe.prices.create({ product: product.id, unit_amount: 700, currency: 'usd' });
  const reply = await ctx.call('PATCH', `/v1/packs/${pack.id}`, { unitAmount: 700, stripePriceId: price.id });
  // Either refused as two conflicting instructions, or the price named is the one sold: never a 200 selling another price.
  if (reply.status === 200) t.equal(reply.body.stripePriceId, price.id, 'the pack sells the price the request named');
  else t.equal(reply.status, 400, `refused: ${JSON.stringify(reply.body)}`);
});

t.test("a checkout by the priceId of a plan's replaced price does not charge the plan's new price", async (t) => {
  const ctx = await build(t);
  await ctx.call('PUT', '/v1/accounts/acct_price', {});
  const plan = (await ctx.call('POST', '/v1/plans', { name: 'Pro', credits: 1000, unitAmount: 2900, currency: 'usd', interval: 'month' })).body;
  const oldPrice = plan.stripePriceId;
  const patched = await ctx.call('PATCH', `/v1/plans/${plan.id}`, { unitAmount: 3900 });
  t.equal(patched.status, 200);
  const reply = await ctx.call('POST', '/v1/checkout/sessions', { accountId: 'acct_price', priceId: oldPrice, mode: 'subscription' }, { key: ctx.serviceKey });
  if (reply.status !== 201) {
    // As for a pack's replaced price: 400 unknown_price.
    t.equal(reply.status, 400, JSON.stringify(reply.body));
    return;
  }
  const items = await ctx.stripe.checkout.sessions.listLineItems(reply.body.id);
  t.same(items.data.map((item) => [item.price?.id, item.amount_total]), [[oldPrice, 2900]], `the session sells the price named (${oldPrice}, $29), not the plan's current one`);
});
