import t, { type Test } from 'tap';
import { build, type TestApp } from '../helper.js';
import { moneyKept } from '../ledger/money-kept.js';
import { settled } from '../subscriptions/fixtures.js';
import { captureHold as capture, holdCredits as hold, openCheckout, paidPack, pastExpiry, releaseHold as release } from './fixtures.js';

// Refunds and disputes that find credits held, in the cases held-refunds.test.ts leaves out: a hold
// drawn from two owing grants, two refunds of one grant, a dispute whose hold is captured. Through
// the HTTP API and the simulator's signed webhooks; the books are checked at every step (moneyKept).

const ACCOUNT = 'acct_buyer';

/** A second pack bought on the account paidPack made: its payment intent and grant. */
async function secondPack(ctx: TestApp) {
  const packs = await ctx.call('GET', '/v1/packs');
  const checkout = await openCheckout(ctx, ACCOUNT, packs.body.data[0].id);
  await ctx.simulator.pay(checkout.id);
  await settled(ctx);
  const session = await ctx.stripe.checkout.sessions.retrieve(checkout.id);
  const { rows } = await ctx.database.pool.query("SELECT id FROM grants WHERE account_id = $1 AND source_key = 'checkout:' || $2", [ACCOUNT, checkout.id]);
  return { paymentIntent: session.payment_intent as string, grantId: rows[0].id as string };
}

/** The adjustment entries in order: amount, grant, and what the metadata says of revocations (Stripe's ids left out). */
async function adjustments(ctx: TestApp) {
  const { rows } = await ctx.database.pool.query("SELECT amount, grant_id, metadata FROM ledger_entries WHERE account_id = $1 AND kind = 'adjustment' ORDER BY id", [ACCOUNT]);
  return rows.map((row) => {
    const { stripeRefundId, stripeChargeId, stripeDisputeId, stripeCheckoutSessionId, failureReason, ...rest } = row.metadata;
    return { amount: Number(row.amount), grantId: row.grant_id, ...rest };
  });
}

/** Every entry as [kind, amount, held change, available after, held after]. */
async function entries(ctx: TestApp) {
  const { rows } = await ctx.database.pool.query('SELECT kind, amount, held_change, available_after, held_after FROM ledger_entries WHERE account_id = $1 ORDER BY id', [ACCOUNT]);
  return rows.map((r) => [r.kind, Number(r.amount), Number(r.held_change), Number(r.available_after), Number(r.held_after)]);
}

async function debts(ctx: TestApp, grantId: string) {
  const { rows } = await ctx.database.pool.query('SELECT debts FROM grants WHERE id = $1', [grantId]);
  return rows[0].debts;
}

/** Two packs of 500 bought, one hold of all 1,000 (500 from each, the older first), both refunded in full: each grant owes its 500. */
async function twoOwingGrants(t: Test, ctx: TestApp, expiresInSeconds?: number) {
  const a = await paidPack(ctx);
  const b = await secondPack(ctx);
  const holdId = await hold(ctx, 1000, expiresInSeconds);
  const refundA = await ctx.stripe.refunds.create({ payment_intent: a.paymentIntent });
  await settled(ctx);
  const refundB = await ctx.stripe.refunds.create({ payment_intent: b.paymentIntent });
  await settled(ctx);
  const keyA = `refund:${refundA.id}:${a.grantId}`;
  const keyB = `refund:${refundB.id}:${b.grantId}`;
  t.same(await adjustments(ctx), [
    { amount: 0, grantId: a.grantId, revocationKey: keyA, requested: 500, revoked: 0, owed: 500 },
    { amount: 0, grantId: b.grantId, revocationKey: keyB, requested: 500, revoked: 0, owed: 500 },
  ], 'both refunds find everything held: each owes its 500');
  t.same([await debts(ctx, a.grantId), await debts(ctx, b.grantId)], [[{ revocationKey: keyA, owed: 500, collected: 0 }], [{ revocationKey: keyB, owed: 500, collected: 0 }]]);
  return { a, b, holdId, keyA, keyB };
}

t.test('one hold drawn from two owing grants, released: each grant gives its debt what came back to it', async (t) => {
  const ctx = await build(t, { listen: true });
  const { a, b, holdId, keyA, keyB } = await twoOwingGrants(t, ctx);
  t.same(await moneyKept(t, ctx, ACCOUNT), { available: 0, held: 1000 });
  const released = await release(ctx, holdId);
  t.same([released.status, released.body.available, released.body.held], [200, 0, 0]);
  t.same((await adjustments(ctx)).slice(2), [
    { amount: -500, grantId: a.grantId, collected: 500, collectedFor: [{ revocationKey: keyA, credits: 500 }] },
    { amount: -500, grantId: b.grantId, collected: 500, collectedFor: [{ revocationKey: keyB, credits: 500 }] },
  ]);
  t.same((await entries(ctx)).slice(-3), [['release', 1000, -1000, 1000, 0], ['adjustment', -500, 0, 500, 0], ['adjustment', -500, 0, 0, 0]]);
  t.same([await debts(ctx, a.grantId), await debts(ctx, b.grantId)], [[{ revocationKey: keyA, owed: 0, collected: 500 }], [{ revocationKey: keyB, owed: 0, collected: 500 }]]);
  t.same(await moneyKept(t, ctx, ACCOUNT), { available: 0, held: 0 });
});

t.test('one hold drawn from two owing grants, captured in part: what is consumed is spent, what comes back is collected, grant by grant', async (t) => {
  const ctx = await build(t, { listen: true });
  const { a, b, holdId, keyA, keyB } = await twoOwingGrants(t, ctx);
  // 700 captured: all 500 of the older grant's and 200 of the newer's; 300 of the newer's come back.
  const captured = await capture(ctx, holdId, 700);
  t.same([captured.status, captured.body.available, captured.body.held], [200, 0, 0]);
  t.same((await adjustments(ctx)).slice(2), [{ amount: -300, grantId: b.grantId, collected: 300, collectedFor: [{ revocationKey: keyB, credits: 300 }] }], 'the older grant got nothing back: nothing collected from it');
  t.same((await entries(ctx)).slice(-2), [['capture', 300, -1000, 300, 0], ['adjustment', -300, 0, 0, 0]]);
  t.same(
    [await debts(ctx, a.grantId), await debts(ctx, b.grantId)],
    [[{ revocationKey: keyA, owed: 0, collected: 0, cut: 500 }], [{ revocationKey: keyB, owed: 0, collected: 300, cut: 200 }]],
    'what the capture consumed is spent: owed no more, cut',
  );
  t.same(await moneyKept(t, ctx, ACCOUNT), { available: 0, held: 0 });
});

t.test('one hold drawn from two owing grants, expiring: the balance read counts it collected before the sweeper writes it', async (t) => {
  const ctx = await build(t, { listen: true });
  // Both refunds must find the hold active: a window of seconds, for a busy machine's two round trips.
  const { a, b, holdId, keyA, keyB } = await twoOwingGrants(t, ctx, 5);
  await pastExpiry(ctx, holdId);
  t.same(await moneyKept(t, ctx, ACCOUNT), { available: 0, held: 0 }, 'expired: nothing held, nothing to spend');
  t.same((await entries(ctx)).slice(-3), [['release', 1000, -1000, 1000, 0], ['adjustment', -500, 0, 500, 0], ['adjustment', -500, 0, 0, 0]]);
  t.same((await adjustments(ctx)).slice(2).map((e) => e.collectedFor), [[{ revocationKey: keyA, credits: 500 }], [{ revocationKey: keyB, credits: 500 }]]);
  t.same([await debts(ctx, a.grantId), await debts(ctx, b.grantId)], [[{ revocationKey: keyA, owed: 0, collected: 500 }], [{ revocationKey: keyB, owed: 0, collected: 500 }]]);
});

t.test('two refunds of one grant while held, partial then the rest, then the first fails: only the second is owed', async (t) => {
  const ctx = await build(t, { listen: true });
  const { paymentIntent, grantId } = await paidPack(ctx);
  const holdId = await hold(ctx, 500);
  const first = await ctx.stripe.refunds.create({ payment_intent: paymentIntent, amount: 100 });
  await settled(ctx);
  t.same(await moneyKept(t, ctx, ACCOUNT), { available: 0, held: 500 });
  const second = await ctx.stripe.refunds.create({ payment_intent: paymentIntent });
  await settled(ctx);
  t.same(await moneyKept(t, ctx, ACCOUNT), { available: 0, held: 500 });
  const firstKey = `refund:${first.id}:${grantId}`;
  const secondKey = `refund:${second.id}:${grantId}`;
  t.same(await adjustments(ctx), [
    { amount: 0, grantId, revocationKey: firstKey, requested: 100, revoked: 0, owed: 100 },
    { amount: 0, grantId, revocationKey: secondKey, requested: 400, revoked: 0, owed: 400 },
  ]);
  t.same(await debts(ctx, grantId), [{ revocationKey: firstKey, owed: 100, collected: 0 }, { revocationKey: secondKey, owed: 400, collected: 0 }]);

  await ctx.simulator.failRefund(first.id);
  await settled(ctx);
  t.same((await adjustments(ctx)).slice(2), [{ amount: 0, grantId, revocationKey: `restore:${firstKey}`, restores: firstKey, restored: 0, cancelled: 100 }], 'nothing was taken for it: its debt is cancelled');
  t.same(await debts(ctx, grantId), [{ revocationKey: secondKey, owed: 400, collected: 0 }]);
  t.same(await moneyKept(t, ctx, ACCOUNT), { available: 0, held: 500 });

  await release(ctx, holdId);
  t.same((await adjustments(ctx)).slice(3), [{ amount: -400, grantId, collected: 400, collectedFor: [{ revocationKey: secondKey, credits: 400 }] }]);
  t.same(await debts(ctx, grantId), [{ revocationKey: secondKey, owed: 0, collected: 400 }]);
  t.same(await moneyKept(t, ctx, ACCOUNT), { available: 100, held: 0 }, '$1 of the $5 kept by the merchant: 100 credits');
});

t.test('a dispute opened while everything is held, the hold captured in full, then the dispute won: nothing comes back', async (t) => {
  const ctx = await build(t, { listen: true });
  const { charge, grantId } = await paidPack(ctx);
  const holdId = await hold(ctx, 500);
  const disputeId = await ctx.simulator.openDispute(charge.id);
  await settled(ctx);
  const revocationKey = `dispute:${disputeId}:${grantId}`;
  t.same(await debts(ctx, grantId), [{ revocationKey, owed: 500, collected: 0 }]);
  t.same(await moneyKept(t, ctx, ACCOUNT), { available: 0, held: 500 });
  const captured = await capture(ctx, holdId, 500);
  t.same([captured.status, captured.body.available, captured.body.held], [200, 0, 0]);
  t.same(await debts(ctx, grantId), [{ revocationKey, owed: 0, collected: 0, cut: 500 }], 'all 500 consumed: spent, owed no more, cut');
  t.same(await moneyKept(t, ctx, ACCOUNT), { available: 0, held: 0 });

  await ctx.simulator.closeDispute(disputeId, true);
  await settled(ctx);
  t.same(await adjustments(ctx), [
    { amount: 0, grantId, revocationKey, requested: 500, revoked: 0, owed: 500 },
    { amount: 0, grantId, revocationKey: `restore:${revocationKey}`, restores: revocationKey, restored: 0 },
  ], 'won: the dispute took nothing, so nothing is given back; the 500 stay spent');
  t.same(await moneyKept(t, ctx, ACCOUNT), { available: 0, held: 0 });
});

t.test('a dispute opened while part is held, the hold captured in full, then won: what it took at once comes back', async (t) => {
  const ctx = await build(t, { listen: true });
  const { charge, grantId } = await paidPack(ctx);
  const holdId = await hold(ctx, 300);
  const disputeId = await ctx.simulator.openDispute(charge.id);
  await settled(ctx);
  t.same(await moneyKept(t, ctx, ACCOUNT), { available: 0, held: 300 });
  const revocationKey = `dispute:${disputeId}:${grantId}`;
  t.equal((await capture(ctx, holdId, 300)).status, 200);
  t.same(await debts(ctx, grantId), [{ revocationKey, owed: 0, collected: 0, cut: 300 }]);
  await ctx.simulator.closeDispute(disputeId, true);
  await settled(ctx);
  t.same(await adjustments(ctx), [
    { amount: -200, grantId, revocationKey, requested: 500, revoked: 200, owed: 300 },
    { amount: 200, grantId, revocationKey: `restore:${revocationKey}`, restores: revocationKey, restored: 200 },
  ]);
  t.same(await moneyKept(t, ctx, ACCOUNT), { available: 200, held: 0 }, 'the 300 captured stay spent');
});

/** Refunds of $3 (the older) and then $2 of a $5 pack, each delivered: the refunds and their revocation keys. */
async function refundThreeThenTwo(ctx: TestApp, paymentIntent: string, grantId: string) {
  const older = await ctx.stripe.refunds.create({ payment_intent: paymentIntent, amount: 300 });
  await settled(ctx);
  const newer = await ctx.stripe.refunds.create({ payment_intent: paymentIntent, amount: 200 });
  await settled(ctx);
  return { older, olderKey: `refund:${older.id}:${grantId}`, newerKey: `refund:${newer.id}:${grantId}` };
}

/** A pack of 500, two holds of 250, then two refunds, $3 (the older) and $2: all held, both owed in full. */
async function twoRefundsOfTwoHolds(t: Test) {
  const ctx = await build(t, { listen: true });
  const { paymentIntent, grantId } = await paidPack(ctx);
  const first = await hold(ctx, 250);
  const second = await hold(ctx, 250);
  const { older, olderKey, newerKey } = await refundThreeThenTwo(ctx, paymentIntent, grantId);
  t.same(await debts(ctx, grantId), [{ revocationKey: olderKey, owed: 300, collected: 0 }, { revocationKey: newerKey, owed: 200, collected: 0 }], 'all 500 held: both owed in full');
  return { ctx, grantId, first, second, older, olderKey, newerKey };
}

t.test('two refunds owed, a hold captured (a debt cut), then the older refund fails: the newer still takes what it is owed', async (t) => {
  const { ctx, grantId, first, second, older, newerKey } = await twoRefundsOfTwoHolds(t);
  t.equal((await capture(ctx, first, 250)).status, 200, '250 consumed: only 250 can still come back, for 500 owed');
  t.same(await moneyKept(t, ctx, ACCOUNT), { available: 0, held: 250 });

  await ctx.simulator.failRefund(older.id);
  await settled(ctx);
  t.same(await moneyKept(t, ctx, ACCOUNT), { available: 0, held: 250 });
  t.same(
    (await debts(ctx, grantId)).map((d: { revocationKey: string; owed: number }) => [d.revocationKey, d.owed]),
    [[newerKey, 200]],
    'the older refund gave its $3 back to the merchant: the newer one is owed its 200, as if the older had never come',
  );
  await release(ctx, second);
  t.same((await adjustments(ctx)).at(-1), { amount: -200, grantId, collected: 200, collectedFor: [{ revocationKey: newerKey, credits: 200 }] });
  t.same(await moneyKept(t, ctx, ACCOUNT), { available: 50, held: 0 }, '$2 of $5 refunded: 300 credits paid for, 250 spent, 50 left (the order of the failure and the capture does not matter)');
});

t.test('the same events, the older refund failing before the capture: 50 left', async (t) => {
  const { ctx, first, second, older } = await twoRefundsOfTwoHolds(t);
  await ctx.simulator.failRefund(older.id);
  await settled(ctx);
  t.equal((await capture(ctx, first, 250)).status, 200);
  await release(ctx, second);
  t.same(await moneyKept(t, ctx, ACCOUNT), { available: 50, held: 0 });
});

t.test('a refund that fails gives back what was collected for it; a debt cut meanwhile takes its part of that at once', async (t) => {
  const { ctx, grantId, first, second, older, olderKey, newerKey } = await twoRefundsOfTwoHolds(t);
  await release(ctx, first); // 250 back: collected for the older refund
  t.equal((await capture(ctx, second, 250)).status, 200, 'the other 250 consumed: the newer refund\'s 200 are cut, and 50 of the older\'s');
  t.same(await debts(ctx, grantId), [{ revocationKey: olderKey, owed: 0, collected: 250, cut: 50 }, { revocationKey: newerKey, owed: 0, collected: 0, cut: 200 }]);
  t.same(await moneyKept(t, ctx, ACCOUNT), { available: 0, held: 0 });

  await ctx.simulator.failRefund(older.id);
  await settled(ctx);
  t.same((await adjustments(ctx)).slice(-2), [
    { amount: 250, grantId, revocationKey: `restore:${olderKey}`, restores: olderKey, restored: 250 },
    { amount: -200, grantId, collected: 200, collectedFor: [{ revocationKey: newerKey, credits: 200 }] },
  ], 'the 250 collected come back, and the newer refund takes its 200 of them');
  t.same(await debts(ctx, grantId), [{ revocationKey: newerKey, owed: 0, collected: 200 }]);
  t.same(await moneyKept(t, ctx, ACCOUNT), { available: 50, held: 0 }, '$2 refunded: 300 paid for, 250 spent, 50 left');
});

t.test('a refund that finds the held credits owed to an older one, which then fails: the newer is owed them in its place', async (t) => {
  const ctx = await build(t, { listen: true });
  const { paymentIntent, grantId } = await paidPack(ctx);
  t.equal((await ctx.call('POST', `/v1/accounts/${ACCOUNT}/spend`, { amount: 200 }, { 'idempotency-key': `spend-${grantId}`, key: ctx.serviceKey })).status, 200);
  const holdId = await hold(ctx, 300);
  const { older, olderKey, newerKey } = await refundThreeThenTwo(ctx, paymentIntent, grantId);
  t.same((await adjustments(ctx)).map((e) => [e.revocationKey, e.revoked, e.owed]), [[olderKey, 0, 300], [newerKey, 0, 0]], 'the 300 held are all owed to the older refund');
  t.same(await moneyKept(t, ctx, ACCOUNT), { available: 0, held: 300 });

  await ctx.simulator.failRefund(older.id);
  await settled(ctx);
  t.same(await debts(ctx, grantId), [{ revocationKey: newerKey, owed: 200, collected: 0 }], 'the older refund failed: the newer one is owed its 200 of the held 300');
  await release(ctx, holdId);
  t.same(await moneyKept(t, ctx, ACCOUNT), { available: 100, held: 0 }, '$2 refunded of $5: 300 paid for, 200 spent, 100 left, as when the failure comes first');
});
