import t from 'tap';
import { build } from '../helper.js';
import { deliver, handled } from '../subscriptions/fixtures.js';
import { account, billOf, createBill, grantsOf } from '../bills/fixtures.js';

/** A paid payment-mode session Tally never recorded, made with the Stripe key, its metadata naming a bill. */
async function unrecordedBillSession(ctx: Awaited<ReturnType<typeof build>>, amount: number, metadata: Record<string, string>) {
  const made = await ctx.stripe.checkout.sessions.create({
    mode: 'payment',
    line_items: [{ quantity: 1, price_data: { currency: 'usd', unit_amount: amount, product_data: { name: 'Anything' } } }],
    success_url: 'https://example.com/ok',
    metadata,
  });
  await ctx.simulator.pay(made.id);
  return ctx.stripe.checkout.sessions.retrieve(made.id);
}

t.test("a $1 session Tally never recorded whose metadata names another account's $9,000 bill does not pay that bill", async (t) => {
  const ctx = await build(t);
  await account(ctx, 'acct_org');
  await account(ctx, 'acct_big');
  const big = await createBill(ctx, { accountId: 'acct_big', name: 'Enterprise', amount: 900_000, credits: 90_000 });
  const session = await unrecordedBillSession(ctx, 100, { tally_account_id: 'acct_org', tally_kind: 'bill', tally_credits: '10', tally_bill_id: big.id });
  t.equal(session.amount_total, 100, 'one dollar paid');
  await deliver(ctx, 'checkout.session.completed', session, { id: 'evt_one_dollar' });
  await handled(ctx);

  t.match(await billOf(ctx, big.id), { status: 'open' }, 'the $9,000 bill is still owed: $1 did not pay it');
  t.same(await grantsOf(ctx, 'acct_big'), [], "none of the bill's 90,000 credits are granted for a $1 payment");
});

t.test('a bill paid by a session Tally never recorded, refunded in full: no credit of that payment is left anywhere', async (t) => {
  const ctx = await build(t);
  await account(ctx, 'acct_big');
  await account(ctx, 'acct_other');
  const big = await createBill(ctx, { accountId: 'acct_big', name: 'Enterprise', amount: 900_000, credits: 90_000 });
  // The bill's full amount, but the session's tally_account_id names another account (edited, or made by hand).
  const session = await unrecordedBillSession(ctx, 900_000, { tally_account_id: 'acct_other', tally_kind: 'bill', tally_credits: '90000', tally_bill_id: big.id });
  await deliver(ctx, 'checkout.session.completed', session, { id: 'evt_full' });
  await handled(ctx);

  const charge = (await ctx.stripe.charges.list({ payment_intent: session.payment_intent as string })).data[0]!;
  await ctx.stripe.refunds.create({ charge: charge.id });
  await deliver(ctx, 'charge.refunded', await ctx.stripe.charges.retrieve(charge.id), { id: 'evt_full_refund' });
  await handled(ctx);

  const { rows } = await ctx.database.pool.query("SELECT status, last_error FROM stripe_events WHERE id = 'evt_full_refund'");
  t.match(rows, [{ status: 'processed' }], 'the refund event is processed');
  const left = (await ctx.call('GET', '/v1/accounts/acct_big/balance')).body.available + (await ctx.call('GET', '/v1/accounts/acct_other/balance')).body.available;
  t.equal(left, 0, 'the whole payment went back: every credit it granted is taken back');
});
