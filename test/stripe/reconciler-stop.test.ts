import t from 'tap';
import { build, eventually } from '../helper.js';
import { accountAndPack, openCheckout } from './fixtures.js';

t.test('closing Tally in the middle of a reconciliation pass stops the pass after the checkout being asked about', async (t) => {
  // Passes every 100 ms, which find nothing until the checkouts are made to look an hour old.
  const ctx = await build(t, { env: { CHECKOUT_RECONCILE_INTERVAL_MS: '100', CHECKOUT_RECONCILE_AFTER_SECONDS: '1800' } });
  const { pack } = await accountAndPack(ctx);
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) ids.push((await openCheckout(ctx, 'acct_buyer', pack.id)).id);
  // Each retrieval of a session takes 3 s at Stripe: a pass over the four would take 12.
  ctx.simulator.failNext({ method: 'GET', path: '/v1/checkout/sessions/', delayMs: 3000, count: 4 });
  await ctx.database.pool.query("UPDATE checkouts SET created_at = created_at - interval '1 hour' WHERE id = ANY($1)", [ids]);
  await eventually(async () => ctx.simulator.pendingFailures() === 3); // the first is at Stripe

  await ctx.app.close();
  t.equal(ctx.simulator.pendingFailures(), 3, 'once the close began, no other checkout was asked about: the close waited for one call, not the whole pass');
});
