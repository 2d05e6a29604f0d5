import t from 'tap';
import { build, key, ledgerSum, type TestApp } from '../helper.js';
import { settled } from '../subscriptions/fixtures.js';
import { captureHold as capture, holdCredits as hold, paidPack, pastExpiry, releaseHold as release } from './fixtures.js';

// A refund or a dispute that comes while the credits it takes back are held: what is held is owed,
// and taken as it comes back to the grant (a release, a hold that expires, what a capture leaves).

const balance = async (ctx: TestApp) => (await ctx.call('GET', '/v1/accounts/acct_buyer/balance')).body as { available: number; held: number };

/** The adjustment entries: revocations, restorations and collections, in order. */
async function adjustments(ctx: TestApp) {
  const { rows } = await ctx.database.pool.query("SELECT amount, metadata FROM ledger_entries WHERE account_id = 'acct_buyer' AND kind = 'adjustment' ORDER BY id");
  return rows.map((row) => ({ amount: Number(row.amount), ...row.metadata }));
}

/** What the grant still owes to revocations, as the database keeps it. */
async function owed(ctx: TestApp, grantId: string): Promise<number> {
  const { rows } = await ctx.database.pool.query("SELECT coalesce(sum((d->>'owed')::bigint), 0) AS owed FROM grants, jsonb_array_elements(debts) d WHERE id = $1", [grantId]);
  return Number(rows[0].owed);
}

/** Nothing is left owed; the ledger states the balance at every entry, and sums to the balance the API reads. */
async function ledgerAgrees(t: { same(found: unknown, wanted: unknown, message: string): unknown }, ctx: TestApp, grantId: string) {
  t.same(await owed(ctx, grantId), 0, 'nothing is left owed');
  const { rows } = await ctx.database.pool.query("SELECT amount, held_change, available_after, held_after FROM ledger_entries WHERE account_id = 'acct_buyer' ORDER BY id");
  let available = 0;
  let held = 0;
  const broken = rows.filter((row) => {
    available += Number(row.amount);
    held += Number(row.held_change);
    return available !== Number(row.available_after) || held !== Number(row.held_after);
  });
  t.same(broken, [], 'every entry states the balances its predecessors sum to');
  const sum = await ledgerSum(ctx.database, 'acct_buyer');
  const { available: read, held: readHeld } = await balance(ctx);
  t.same({ available: read, held: readHeld }, { available: Number(sum.available), held: Number(sum.held) }, 'the ledger sums to the balance');
}

t.test('a full refund while every credit is held: released, they are taken at once', async (t) => {
  const ctx = await build(t, { listen: true });
  const { paymentIntent, grantId } = await paidPack(ctx);
  const holdId = await hold(ctx, 500);
  const refund = await ctx.stripe.refunds.create({ payment_intent: paymentIntent });
  await settled(ctx);
  t.match(await balance(ctx), { available: 0, held: 500 }, 'nothing left to take: the 500 held are owed');
  const revocationKey = `refund:${refund.id}:${grantId}`;
  t.match(await adjustments(ctx), [{ amount: 0, revocationKey, requested: 500, revoked: 0, owed: 500 }]);

  const released = await release(ctx, holdId);
  t.equal(released.status, 200);
  t.match(released.body, { available: 0, held: 0 }, 'the release answers the balance after the collection');
  t.match(await balance(ctx), { available: 0, held: 0 }, 'the customer keeps neither the money nor the credits');
  t.match(await adjustments(ctx), [{ revocationKey }, { amount: -500, collected: 500, collectedFor: [{ revocationKey, credits: 500 }] }], 'the collection names the revocation it is for');
  const spend = await ctx.call('POST', '/v1/accounts/acct_buyer/spend', { amount: 1 }, { 'idempotency-key': key(), key: ctx.serviceKey });
  t.equal(spend.status, 402, 'nothing to spend');
  await ledgerAgrees(t, ctx, grantId);
});

t.test('a partial refund while part is held and part free: the free part at once, the held part when it comes back', async (t) => {
  const ctx = await build(t, { listen: true });
  const { paymentIntent, grantId } = await paidPack(ctx);
  const holdId = await hold(ctx, 400);
  await ctx.stripe.refunds.create({ payment_intent: paymentIntent, amount: 300 }); // 300 of the 500 credits
  await settled(ctx);
  t.match(await balance(ctx), { available: 0, held: 400 }, 'the 100 free taken');
  t.match(await adjustments(ctx), [{ amount: -100, requested: 300, revoked: 100, owed: 200 }]);
  await release(ctx, holdId);
  t.match(await balance(ctx), { available: 200, held: 0 }, '200 of the 400 released are taken: 500 - 300');
  t.match(await adjustments(ctx), [{ amount: -100 }, { amount: -200, collected: 200 }]);
  await ledgerAgrees(t, ctx, grantId);
});

t.test('a partial capture: what it gives back goes to the revocation; what it consumed stays spent', async (t) => {
  const ctx = await build(t, { listen: true });
  const { paymentIntent, grantId } = await paidPack(ctx);
  const holdId = await hold(ctx, 500);
  await ctx.stripe.refunds.create({ payment_intent: paymentIntent });
  await settled(ctx);
  const captured = await capture(ctx, holdId, 150);
  t.equal(captured.status, 200);
  t.match(captured.body, { available: 0, held: 0 });
  t.match(await adjustments(ctx), [{ amount: 0, owed: 500 }, { amount: -350, collected: 350 }], 'the 350 given back are taken; the 150 captured stay spent');
  await ledgerAgrees(t, ctx, grantId); // nothing is owed for the credits captured: spent
});

t.test('a hold that expires gives its credits back to an owed grant: the settlement takes them', async (t) => {
  const ctx = await build(t, { listen: true });
  const { paymentIntent, grantId } = await paidPack(ctx);
  // The refund must find the hold active: a window of seconds, for a busy machine's round trip.
  const holdId = await hold(ctx, 500, 4);
  await ctx.stripe.refunds.create({ payment_intent: paymentIntent });
  await settled(ctx);
  await pastExpiry(ctx, holdId);
  t.match(await balance(ctx), { available: 0, held: 0 }, 'the balance counts the expired hold as given back, and taken, before it is written');
  await ctx.app.ledger.settle('acct_buyer'); // what the sweeper does
  t.match(await balance(ctx), { available: 0, held: 0 });
  t.match(await adjustments(ctx), [{ amount: 0, owed: 500 }, { amount: -500, collected: 500 }]);
  await ledgerAgrees(t, ctx, grantId);
});

t.test('a dispute won after the collection gives back all it took, at once and later', async (t) => {
  const ctx = await build(t, { listen: true });
  const { charge, grantId } = await paidPack(ctx);
  const holdId = await hold(ctx, 300);
  const disputeId = await ctx.simulator.openDispute(charge.id);
  await settled(ctx);
  t.match(await balance(ctx), { available: 0, held: 300 }, 'the 200 free taken, the 300 held owed');
  await release(ctx, holdId);
  t.match(await balance(ctx), { available: 0, held: 0 }, 'released: taken');
  await ctx.simulator.closeDispute(disputeId, true);
  await settled(ctx);
  t.match(await balance(ctx), { available: 500, held: 0 }, 'won: the 500 are back, as if there had been no dispute');
  const revocationKey = `dispute:${disputeId}:${grantId}`;
  t.match(await adjustments(ctx), [
    { amount: -200, revocationKey, owed: 300 },
    { amount: -300, collectedFor: [{ revocationKey, credits: 300 }] },
    { amount: 500, revocationKey: `restore:${revocationKey}`, restored: 500 },
  ]);
  t.equal((await adjustments(ctx)).length, 3, 'funds_reinstated and closed give back once');
  await ledgerAgrees(t, ctx, grantId);
});

t.test('a refund that fails after the collection gives back what was collected too; before it, the debt is cancelled', async (t) => {
  const ctx = await build(t, { listen: true });
  const { paymentIntent, grantId } = await paidPack(ctx);
  const first = await hold(ctx, 500);
  const refund = await ctx.stripe.refunds.create({ payment_intent: paymentIntent });
  await settled(ctx);
  await release(ctx, first);
  t.match(await balance(ctx), { available: 0, held: 0 });
  await ctx.simulator.failRefund(refund.id);
  await settled(ctx);
  t.match(await balance(ctx), { available: 500, held: 0 }, 'the refund failed: the 500 collected are back');
  t.match((await adjustments(ctx)).at(-1), { amount: 500, restored: 500 });

  // Another refund while held, failing before the credits come back: nothing is owed any more.
  const second = await hold(ctx, 500);
  const again = await ctx.stripe.refunds.create({ payment_intent: paymentIntent });
  await settled(ctx);
  t.equal(await owed(ctx, grantId), 500);
  await ctx.simulator.failRefund(again.id);
  await settled(ctx);
  t.equal(await owed(ctx, grantId), 0, 'the failed refund is owed nothing');
  await release(ctx, second);
  t.match(await balance(ctx), { available: 500, held: 0 }, 'released: the credits stay, the money stayed with the merchant');
  await ledgerAgrees(t, ctx, grantId);
});

t.test('two partial refunds both owed: each collected in turn, oldest first, and each restored exactly', async (t) => {
  const ctx = await build(t, { listen: true });
  const { paymentIntent, grantId } = await paidPack(ctx);
  const holdId = await hold(ctx, 500);
  const first = await ctx.stripe.refunds.create({ payment_intent: paymentIntent, amount: 100 });
  await settled(ctx);
  const second = await ctx.stripe.refunds.create({ payment_intent: paymentIntent, amount: 200 });
  await settled(ctx);
  t.match(await adjustments(ctx), [{ amount: 0, owed: 100 }, { amount: 0, owed: 200 }], 'both owed, in full');
  const captured = await capture(ctx, holdId, 250); // 250 come back: 100 for the first, 150 of the second's 200
  t.equal(captured.status, 200);
  const firstKey = `refund:${first.id}:${grantId}`;
  const secondKey = `refund:${second.id}:${grantId}`;
  t.match((await adjustments(ctx)).at(-1), { amount: -250, collectedFor: [{ revocationKey: firstKey, credits: 100 }, { revocationKey: secondKey, credits: 150 }] });
  t.match(await balance(ctx), { available: 0, held: 0 });

  await ctx.simulator.failRefund(second.id);
  await settled(ctx);
  t.match(await balance(ctx), { available: 150, held: 0 }, 'the second refund failed: the 150 collected for it come back, not the first one\'s');
  await ctx.simulator.failRefund(first.id);
  await settled(ctx);
  t.match(await balance(ctx), { available: 250, held: 0 }, 'then the first: its 100; the 250 captured stay spent');
  await ledgerAgrees(t, ctx, grantId); // the 50 captured of the second's debt were spent, not owed
});
