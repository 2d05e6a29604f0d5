import t from 'tap';
import { build } from '../helper.js';
import { deliver, handled } from '../subscriptions/fixtures.js';
import { accountAndPack, grantsOf } from '../stripe/fixtures.js';

t.test("a $1 session Tally never recorded whose metadata claims 99,999 credits of a $5/500-credit pack grants nothing it was not paid for", async (t) => {
  const ctx = await build(t);
  const { pack } = await accountAndPack(ctx);
  // Made with the Stripe key, not through Tally: an inline $1 price, not the pack's; no checkouts row, no stamp.
  const made = await ctx.stripe.checkout.sessions.create({
    mode: 'payment',
    line_items: [{ quantity: 1, price_data: { currency: 'usd', unit_amount: 100, product_data: { name: 'Anything' } } }],
    success_url: 'https://example.com/ok',
    metadata: { tally_account_id: 'acct_buyer', tally_kind: 'pack', tally_pack_id: pack.id, tally_quantity: '1', tally_credits: '99999' },
  });
  await ctx.simulator.pay(made.id);
  const session = await ctx.stripe.checkout.sessions.retrieve(made.id);
  t.equal(session.amount_total, 100, 'one dollar paid');
  await deliver(ctx, 'checkout.session.completed', session, { id: 'evt_unrecorded_pack' });
  await handled(ctx);

  const granted = (await grantsOf(ctx, 'acct_buyer')).reduce((sum, grant) => sum + Number(grant.amount), 0);
  t.ok(granted <= 100, `no more credits than $1 buys of a 1-credit-per-cent pack (granted ${granted})`);
});
