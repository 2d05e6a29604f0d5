import t from 'tap';
import { build, ledgerSum, type TestApp } from '../helper.js';
import { deliver, settled } from '../subscriptions/fixtures.js';
import { account, billOf, createBill } from './fixtures.js';

/** A bill of 1,000 credits for $100 (¥ when told), paid by card, its webhooks delivered: its charge. */
async function paidBill(ctx: TestApp, terms: Record<string, unknown> = {}) {
  await account(ctx);
  const bill = await createBill(ctx, { name: 'Audit', amount: 10_000, credits: 1000, ...terms });
  await ctx.simulator.pay(bill.checkoutSessionId);
  await settled(ctx);
  const session = await ctx.stripe.checkout.sessions.retrieve(bill.checkoutSessionId);
  const charge = (await ctx.stripe.charges.list({ payment_intent: session.payment_intent as string })).data[0]!;
  return { bill, charge };
}

const available = async (ctx: TestApp) => Number((await ledgerSum(ctx.database, 'acct_org')).available);

t.test('a paid bill refunded in part, then in full, then a refund that fails: credits follow the money', async (t) => {
  const ctx = await build(t, { listen: true });
  const { bill, charge } = await paidBill(ctx);
  t.equal(await available(ctx), 1000);
  await ctx.stripe.refunds.create({ charge: charge.id, amount: 2500 });
  await settled(ctx);
  t.equal(await available(ctx), 750, '$25 of $100: 250 of 1,000');
  const rest = await ctx.stripe.refunds.create({ charge: charge.id });
  await settled(ctx);
  t.equal(await available(ctx), 0, 'the rest: all of them');
  await ctx.simulator.failRefund(rest.id);
  await settled(ctx);
  t.equal(await available(ctx), 750, 'the refund that failed gives back what it took');
  t.match(await billOf(ctx, bill.id), { status: 'paid' }, 'the bill stays paid through its refunds');
});

t.test('a dispute on a paid bill takes its share while argued; won, gives it back; lost, keeps it', async (t) => {
  const ctx = await build(t, { listen: true });
  const { charge } = await paidBill(ctx, { amount: 5000, currency: 'jpy' });
  const won = await ctx.simulator.openDispute(charge.id, 2000);
  await settled(ctx);
  t.equal(await available(ctx), 600, '¥2,000 of ¥5,000 disputed: 400 of 1,000 taken at once');
  await ctx.simulator.closeDispute(won, true);
  await settled(ctx);
  t.equal(await available(ctx), 1000, 'won: given back');

  const other = await paidBill(ctx);
  t.equal(await available(ctx), 2000, 'another bill paid');
  const lost = await ctx.simulator.openDispute(other.charge.id);
  await settled(ctx);
  t.equal(await available(ctx), 1000, 'its whole payment disputed: its 1,000 taken');
  await ctx.simulator.closeDispute(lost, false);
  await settled(ctx);
  t.equal(await available(ctx), 1000, 'lost: kept taken, once');
});

t.test("a paid bill's events out of order: the refund before the payment's webhook, a stale expiry after it", async (t) => {
  const ctx = await build(t); // not listening: events are posted by hand, in the order the test says
  await account(ctx);
  const bill = await createBill(ctx, { name: 'Audit', amount: 10_000, credits: 1000 });
  const open = await ctx.stripe.checkout.sessions.retrieve(bill.checkoutSessionId);
  await ctx.simulator.pay(bill.checkoutSessionId);
  const paid = await ctx.stripe.checkout.sessions.retrieve(bill.checkoutSessionId);
  await ctx.stripe.refunds.create({ payment_intent: paid.payment_intent as string, amount: 5000 });
  const charge = (await ctx.stripe.charges.list({ payment_intent: paid.payment_intent as string })).data[0]!;

  await deliver(ctx, 'charge.refunded', charge);
  await settled(ctx);
  t.match(await billOf(ctx, bill.id), { status: 'paid' }, 'the refund first paid the bill, through the once-only path');
  t.equal(await available(ctx), 500, 'and took back its half');
  await deliver(ctx, 'checkout.session.completed', paid);
  await deliver(ctx, 'checkout.session.expired', { ...open, status: 'expired' }); // a view that cannot be: it never overrides a payment
  await settled(ctx);
  t.match(await billOf(ctx, bill.id), { status: 'paid' });
  t.equal(await available(ctx), 500, 'the late completion grants nothing more');
});
