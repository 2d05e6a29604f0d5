import t from 'tap';
import type { TestApp } from '../helper.js';
import { build } from '../helper.js';
import { deliver, handled } from '../subscriptions/fixtures.js';
import { account, billOf, createBill, grantsOf } from './fixtures.js';

// A Checkout Session Tally has no record of (made with the Stripe key, or by a Tally whose database
// was restored from before it) is taken as a bill's only when it is one Tally would have made for it.

/** A paid payment-mode session Tally never recorded, its metadata naming a bill. */
async function unrecordedSession(ctx: TestApp, amount: number, metadata: Record<string, string>) {
  const made = await ctx.stripe.checkout.sessions.create({
    mode: 'payment',
    line_items: [{ quantity: 1, price_data: { currency: 'usd', unit_amount: amount, product_data: { name: 'Anything' } } }],
    success_url: 'https://example.com/ok',
    metadata,
  });
  await ctx.simulator.pay(made.id);
  return ctx.stripe.checkout.sessions.retrieve(made.id);
}

async function refund(ctx: TestApp, paymentIntent: string, eventId: string) {
  const charge = (await ctx.stripe.charges.list({ payment_intent: paymentIntent })).data[0]!;
  await ctx.stripe.refunds.create({ charge: charge.id });
  await deliver(ctx, 'charge.refunded', await ctx.stripe.charges.retrieve(charge.id), { id: eventId });
  await handled(ctx);
}

/** acct_big's $9,000 bill of 90,000 credits, and a paid session Tally never recorded naming it: for `amount`, its metadata naming `accountId`. */
async function bigBillAndSession(ctx: TestApp, amount: number, accountId: string) {
  await account(ctx, 'acct_big');
  if (accountId !== 'acct_big') await account(ctx, accountId);
  const big = await createBill(ctx, { accountId: 'acct_big', name: 'Enterprise', amount: 900_000, credits: 90_000 });
  const session = await unrecordedSession(ctx, amount, { tally_account_id: accountId, tally_kind: 'bill', tally_credits: '90000', tally_bill_id: big.id });
  return { big, session };
}

const available = async (ctx: TestApp, accountId: string) => (await ctx.call('GET', `/v1/accounts/${accountId}/balance`)).body.available as number;

t.test("a $1 session Tally never recorded whose metadata names another account's $9,000 bill does not pay that bill", async (t) => {
  const ctx = await build(t);
  const { big, session } = await bigBillAndSession(ctx, 100, 'acct_org');
  t.equal(session.amount_total, 100, 'one dollar paid');
  await deliver(ctx, 'checkout.session.completed', session, { id: 'evt_one_dollar' });
  await handled(ctx);

  t.match(await billOf(ctx, big.id), { status: 'open', paidAt: null }, 'the $9,000 bill is still owed');
  t.same(await grantsOf(ctx, 'acct_big'), [], "none of the bill's credits");
  t.same(await grantsOf(ctx, 'acct_org'), [], 'nor any for the account the metadata names');
  t.ok(ctx.logs.some((line) => line.includes('pays no bill') && line.includes(session.id) && line.includes(big.id)), 'logged, naming the session and the bill, for a refund in Stripe');
});

t.test("a session for a bill's amount but another account pays no bill, then or later: once recorded, its record names no bill", async (t) => {
  const ctx = await build(t);
  const { big, session } = await bigBillAndSession(ctx, 900_000, 'acct_other');
  await deliver(ctx, 'checkout.session.completed', session, { id: 'evt_full' });
  await handled(ctx);
  const { rows } = await ctx.database.pool.query('SELECT account_id, bill_id, fulfilled_at FROM checkouts WHERE id = $1', [session.id]);
  t.same(rows, [{ account_id: 'acct_other', bill_id: null, fulfilled_at: null }], 'recorded unfulfilled, as the checkout of no bill');

  // Its redelivery, and the refund (which fulfils an unfulfilled checkout first), now read that record.
  await deliver(ctx, 'checkout.session.completed', session, { id: 'evt_full_again' });
  await handled(ctx);
  await refund(ctx, session.payment_intent as string, 'evt_full_refund');
  t.match(await billOf(ctx, big.id), { status: 'open', paidAt: null }, 'the bill is still owed');
  t.same([await available(ctx, 'acct_big'), await available(ctx, 'acct_other')], [0, 0], 'no credit granted anywhere');
  t.match((await ctx.database.pool.query("SELECT status FROM stripe_events WHERE id = 'evt_full_refund'")).rows, [{ status: 'processed' }]);
});

t.test("a session Tally never recorded that is one it would have made for the bill (its amount, currency and account) pays it once; refunded, its credits go back", async (t) => {
  const ctx = await build(t);
  const { big, session } = await bigBillAndSession(ctx, 900_000, 'acct_big');
  for (const id of ['evt_restored', 'evt_restored_again']) await deliver(ctx, 'checkout.session.completed', session, { id });
  await handled(ctx);
  t.match(await billOf(ctx, big.id), { status: 'paid' });
  t.same((await grantsOf(ctx, 'acct_big')).map((grant) => Number(grant.amount)), [90_000], 'granted once');
  const { rows } = await ctx.database.pool.query('SELECT account_id, bill_id, credits::int FROM checkouts WHERE id = $1', [session.id]);
  t.same(rows, [{ account_id: 'acct_big', bill_id: big.id, credits: 90_000 }], "recorded as the bill's checkout");

  await refund(ctx, session.payment_intent as string, 'evt_restored_refund');
  t.equal(await available(ctx, 'acct_big'), 0, 'the refund takes the credits back');
});

t.test("a refund takes back from the account the checkout's grant went to, where an older Tally recorded the checkout under another", async (t) => {
  const ctx = await build(t);
  await account(ctx, 'acct_other');
  const { session } = await bigBillAndSession(ctx, 900_000, 'acct_big');
  await deliver(ctx, 'checkout.session.completed', session, { id: 'evt_paid' });
  await handled(ctx);
  t.equal(await available(ctx, 'acct_big'), 90_000);
  // What Tally before this change recorded for such a session: the account its metadata named.
  await ctx.database.pool.query("UPDATE checkouts SET account_id = 'acct_other' WHERE id = $1", [session.id]);

  await refund(ctx, session.payment_intent as string, 'evt_refund');
  t.same([await available(ctx, 'acct_big'), await available(ctx, 'acct_other')], [0, 0], "taken back from acct_big, whose grant it was");
});
