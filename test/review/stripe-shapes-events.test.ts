import t from 'tap';
import { build, signedEvent, type TestApp } from '../helper.js';
import { accountAndPack, firstOutcome, grantsOf, madeUpPackSession, openCheckout, postEvent } from '../stripe/fixtures.js';

// Review of Stripe events and objects of shapes Tally did not expect (stripe-shapes). Each test fails on
// the current code because of the defect it is named after, and asserts the outcome Tally promises.

const available = async (ctx: TestApp, accountId: string): Promise<number> => (await ctx.call('GET', `/v1/accounts/${accountId}/balance`)).body.available;

/** A pack checkout opened through the API for acct_buyer (500 credits for $5) and paid on the simulator; Tally not told yet. */
async function paidRecordedPack(ctx: TestApp) {
  const { pack } = await accountAndPack(ctx);
  const checkout = await openCheckout(ctx, 'acct_buyer', pack.id);
  await ctx.simulator.pay(checkout.id);
  return ctx.stripe.checkout.sessions.retrieve(checkout.id);
}

t.test("a recorded pack checkout whose session metadata was edited at Stripe grants what Tally recorded, to the account it recorded (not the edited account or credits); its refund takes them back", async (t) => {
  const ctx = await build(t);
  const session = await paidRecordedPack(ctx);
  await ctx.call('PUT', '/v1/accounts/acct_other', {});
  // Checkout Session metadata can be changed through Stripe's API (POST /v1/checkout/sessions/:id) by anything holding the key.
  const edited = { ...session, metadata: { ...session.metadata, tally_account_id: 'acct_other', tally_credits: '99999' } };
  t.equal((await postEvent(ctx, signedEvent(ctx.stripe, 'checkout.session.completed', edited, { id: 'evt_edited' }))).statusCode, 200);
  await firstOutcome(ctx, 'evt_edited');
  const recorded = (await ctx.call('GET', `/v1/checkout/sessions/${session.id}`)).body;
  t.match(recorded, { accountId: 'acct_buyer', credits: 500, fulfilled: true }, "Tally's own record of the checkout: acct_buyer, 500 credits");
  t.equal(await available(ctx, 'acct_buyer'), 500, 'the account Tally opened the checkout for gets the 500 credits it paid for');
  t.same(await grantsOf(ctx, 'acct_other'), [], 'the account named by the edited metadata gets nothing');

  const charge = (await ctx.stripe.charges.list({ payment_intent: session.payment_intent as string })).data[0]!;
  await ctx.stripe.refunds.create({ charge: charge.id });
  await postEvent(ctx, signedEvent(ctx.stripe, 'charge.refunded', await ctx.stripe.charges.retrieve(charge.id), { id: 'evt_refunded' }));
  await firstOutcome(ctx, 'evt_refunded');
  t.equal((await available(ctx, 'acct_buyer')) + (await available(ctx, 'acct_other')), 0, 'the payment refunded in full: no credit of it is left anywhere');
});

t.test("a recorded, paid pack checkout whose session's tally_kind was edited at Stripe is still granted its pack, not recorded fulfilled with no grant", async (t) => {
  const ctx = await build(t);
  const session = await paidRecordedPack(ctx);
  const edited = { ...session, metadata: { ...session.metadata, tally_kind: 'subscription' } };
  t.equal((await postEvent(ctx, signedEvent(ctx.stripe, 'checkout.session.completed', edited, { id: 'evt_kind' }))).statusCode, 200);
  await firstOutcome(ctx, 'evt_kind');
  const recorded = (await ctx.call('GET', `/v1/checkout/sessions/${session.id}`)).body;
  t.equal(await available(ctx, 'acct_buyer'), 500, 'the paid pack grants its 500 credits');
  t.ok(!recorded.fulfilled || recorded.grantId !== null, `not recorded fulfilled without a grant (recorded: fulfilled ${recorded.fulfilled}, grantId ${recorded.grantId}), which no reconciler pass looks at again`);
});

t.test('a paid session whose tally_credits is a whole number no grant can hold: processed as nothing to do, with a warning, not failing for ever', async (t) => {
  const ctx = await build(t);
  await accountAndPack(ctx);
  const session = madeUpPackSession('cs_test_huge', 'acct_buyer', 500);
  session.metadata.tally_credits = '10000000000000000000000';
  t.equal((await postEvent(ctx, signedEvent(ctx.stripe, 'checkout.session.completed', session, { id: 'evt_huge' }))).statusCode, 200);
  const outcome = await firstOutcome(ctx, 'evt_huge');
  t.match(outcome, { status: 'processed', attempts: 1, lastError: null }, 'processed, not failed (and retried every hour for ever)');
  t.ok(outcome.warned, 'a warning names the event');
  t.same(await grantsOf(ctx, 'acct_buyer'), [], 'nothing granted');
});
