import t from 'tap';
import { build, key, ledgerSum } from '../helper.js';
import { deliver, settled } from '../subscriptions/fixtures.js';
import { account, billOf, createBill, grantsOf, waitForBill } from './fixtures.js';

t.test('a bill: created, paid, its credits granted once', async (t) => {
  const ctx = await build(t, { listen: true });
  await account(ctx);
  const bill = await createBill(ctx, { name: 'Q3 usage', description: 'Overage for July to September', amount: 125_000, credits: 50_000 });
  t.match(bill, { status: 'open', url: /\/checkout\/cs_/, credits: 50_000, amount: 125_000, currency: 'usd' });

  const session = await ctx.stripe.checkout.sessions.retrieve(bill.checkoutSessionId);
  const customer = (await ctx.call('GET', '/v1/accounts/acct_org')).body.stripeCustomerId;
  t.equal(session.customer, customer, "on the account's customer");
  t.match(session, { mode: 'payment', amount_total: 125_000, currency: 'usd', metadata: { tally_kind: 'bill', tally_bill_id: bill.id, tally_account_id: 'acct_org' } });
  const lifetime = session.expires_at - session.created;
  t.ok(lifetime >= 30 * 60 && lifetime <= 24 * 3600, `expires_at within Stripe's limits (${lifetime}s)`);
  t.equal(new Date(session.expires_at * 1000).toISOString(), bill.expiresAt);
  const items = await ctx.stripe.checkout.sessions.listLineItems(session.id);
  t.match(items.data[0], { description: 'Q3 usage', amount_total: 125_000, quantity: 1 });

  await ctx.simulator.pay(session.id);
  const paid = await waitForBill(ctx, bill.id, 'paid');
  t.match(paid, { url: null, grantId: /^grt_/ });
  await settled(ctx);
  const completed = await ctx.stripe.checkout.sessions.retrieve(session.id);
  for (let i = 0; i < 3; i++) await deliver(ctx, 'checkout.session.completed', completed);
  const sync = await ctx.call('POST', `/v1/checkout/sessions/${session.id}/sync`);
  t.match(sync.body, { status: 'complete', fulfilled: true });
  await settled(ctx);
  const grants = await grantsOf(ctx, 'acct_org');
  t.equal(grants.length, 1, 'one grant');
  t.match(grants[0], { amount: 50_000, source_key: `bill:${bill.id}`, expires_at: null });
  t.equal(Number((await ledgerSum(ctx.database, 'acct_org')).available), 50_000);

  const list = await ctx.call('GET', '/v1/accounts/acct_org/bills');
  t.same(list.body.data.map((b: { id: string }) => b.id), [bill.id]);
  t.equal((await ctx.call('POST', `/v1/bills/${bill.id}/cancel`)).body.error.code, 'bill_paid', 'a paid bill cannot be canceled');
  t.equal((await ctx.call('POST', `/v1/bills/${bill.id}/checkout`)).body.error.code, 'bill_paid');
});

t.test('a bill without credits is paid and grants nothing; the success page syncs it', async (t) => {
  const ctx = await build(t); // no webhooks: the success page is the only path
  await account(ctx);
  const bill = await createBill(ctx, { name: 'Setup fee', amount: 5000 });
  await ctx.simulator.pay(bill.checkoutSessionId);
  const page = await ctx.app.inject({ method: 'GET', url: `/checkout/success?session_id=${bill.checkoutSessionId}` });
  t.equal(page.statusCode, 200);
  t.match(await billOf(ctx, bill.id), { status: 'paid', credits: null, grantId: null });
  t.equal((await grantsOf(ctx, 'acct_org')).length, 0);
});

t.test('a bill left to expire is expired, then re-opened and paid', async (t) => {
  const ctx = await build(t, { listen: true });
  await account(ctx);
  const bill = await createBill(ctx, { name: 'Consulting', amount: 90_000, credits: 1000, expiresInSeconds: 1800 });
  const first = await ctx.stripe.checkout.sessions.retrieve(bill.checkoutSessionId);
  t.ok(first.expires_at - first.created >= 1800, 'at least the 30 minutes Stripe wants');

  t.equal((await ctx.call('POST', `/v1/bills/${bill.id}/checkout`)).body.error.code, 'bill_checkout_open', 'an open checkout is not replaced');
  await ctx.simulator.advanceClock(2 * 3600);
  const expired = await waitForBill(ctx, bill.id, 'expired');
  t.equal(expired.url, null);

  const reopened = await ctx.call('POST', `/v1/bills/${bill.id}/checkout`, { expiresInSeconds: 86400 }, { key: ctx.serviceKey });
  t.equal(reopened.status, 200);
  t.match(reopened.body, { status: 'open', url: /\/checkout\/cs_/ });
  t.not(reopened.body.checkoutSessionId, bill.checkoutSessionId, 'a fresh checkout');

  // The old session's expiry arriving again does not expire the re-opened bill.
  await deliver(ctx, 'checkout.session.expired', await ctx.stripe.checkout.sessions.retrieve(bill.checkoutSessionId));
  await settled(ctx);
  t.equal((await billOf(ctx, bill.id)).status, 'open');

  await ctx.simulator.pay(reopened.body.checkoutSessionId);
  await waitForBill(ctx, bill.id, 'paid');
  await settled(ctx);
  t.same((await grantsOf(ctx, 'acct_org')).map((g) => g.amount), [1000]);
  const { rows } = await ctx.database.pool.query('SELECT id, status FROM checkouts WHERE bill_id = $1 ORDER BY created_at', [bill.id]);
  t.same(rows.map((r) => r.status), ['expired', 'complete'], 'both checkouts are on record');
});

t.test("a bill's paid session whose tally_bill_id was edited at Stripe pays the bill it is the checkout of, not another account's bill", async (t) => {
  const ctx = await build(t); // not listening: only the edited event is delivered
  await account(ctx);
  await account(ctx, 'acct_big');
  const small = await createBill(ctx, { name: 'Small', amount: 100, credits: 10 });
  const big = await createBill(ctx, { accountId: 'acct_big', name: 'Big', amount: 900_000, credits: 90_000 });
  await ctx.simulator.pay(small.checkoutSessionId);
  const session = await ctx.stripe.checkout.sessions.retrieve(small.checkoutSessionId);
  // Checkout Session metadata can be changed through Stripe's API by anything holding the key.
  await deliver(ctx, 'checkout.session.completed', { ...session, metadata: { ...session.metadata, tally_bill_id: big.id } });
  await settled(ctx);
  t.match(await billOf(ctx, small.id), { status: 'paid' }, 'the $1 bill whose checkout was paid is paid');
  t.match(await billOf(ctx, big.id), { status: 'open', paidAt: null }, "acct_big's $9,000 bill, never paid, stays open");
  t.same((await grantsOf(ctx, 'acct_org')).map((grant) => grant.amount), [10], 'acct_org gets the 10 credits it paid for');
  t.same(await grantsOf(ctx, 'acct_big'), [], 'acct_big gets nothing');
  const warning = ctx.logs.map((line) => JSON.parse(line)).find((line) => line.checkoutSessionId === session.id && /not what Tally recorded/.test(line.msg));
  t.same(warning?.edited, { tally_bill_id: { recorded: small.id, atStripe: big.id } }, 'the edit is logged, naming the session and both bills');
});

t.test('a bill paid by bank debit: 409 bill_payment_pending while the debit is on its way; once it fails, the bill expires, and is reopened and paid', async (t) => {
  const ctx = await build(t, { listen: true });
  await account(ctx);
  const bill = await createBill(ctx, { credits: 100 });
  await ctx.simulator.payByBankDebit(bill.checkoutSessionId);
  await settled(ctx);
  t.equal((await billOf(ctx, bill.id)).status, 'open', 'the money is not there yet');
  for (const path of ['cancel', 'checkout']) {
    const reply = await ctx.call('POST', `/v1/bills/${bill.id}/${path}`);
    t.equal(reply.status, 409);
    t.match(reply.body, { error: { code: 'bill_payment_pending', details: { billId: bill.id } } }, `${path}: not paid, not yet failed`);
  }

  await ctx.simulator.settleBankDebit(bill.checkoutSessionId, false);
  await settled(ctx);
  t.match(await billOf(ctx, bill.id), { status: 'expired', paidAt: null, grantId: null }, 'the debit failed: the checkout can never pay the bill');
  t.equal(Number((await ledgerSum(ctx.database, 'acct_org')).available), 0, 'nothing granted');
  const reopened = await ctx.call('POST', `/v1/bills/${bill.id}/checkout`);
  t.equal(reopened.status, 200);
  t.match(reopened.body, { status: 'open', url: /\/checkout\/cs_/ });
  t.not(reopened.body.checkoutSessionId, bill.checkoutSessionId, 'on a fresh checkout');
  await ctx.simulator.pay(reopened.body.checkoutSessionId);
  await waitForBill(ctx, bill.id, 'paid');
  await settled(ctx);
  t.same((await grantsOf(ctx, 'acct_org')).map((grant) => grant.amount), [100], 'granted once, by the card');
});

t.test('a bill whose bank debit failed, its webhook lost: canceling it finds the failure and cancels', async (t) => {
  const ctx = await build(t); // not listening: nothing is delivered
  await account(ctx);
  const bill = await createBill(ctx, { credits: 100 });
  await ctx.simulator.payByBankDebit(bill.checkoutSessionId);
  await ctx.simulator.settleBankDebit(bill.checkoutSessionId, false);
  const canceled = await ctx.call('POST', `/v1/bills/${bill.id}/cancel`);
  t.equal(canceled.status, 200);
  t.match(canceled.body, { status: 'canceled', paidAt: null, grantId: null });
  t.same(await grantsOf(ctx, 'acct_org'), []);
});

t.test('canceling a bill expires its checkout', async (t) => {
  const ctx = await build(t, { listen: true });
  await account(ctx);
  const bill = await createBill(ctx, { name: 'Training', amount: 10_000, credits: 10 });
  const canceled = await ctx.call('POST', `/v1/bills/${bill.id}/cancel`, undefined, { key: ctx.serviceKey });
  t.equal(canceled.status, 200);
  t.match(canceled.body, { status: 'canceled', url: null });
  t.equal((await ctx.stripe.checkout.sessions.retrieve(bill.checkoutSessionId)).status, 'expired', 'the checkout can no longer be paid');
  await settled(ctx);
  t.equal((await billOf(ctx, bill.id)).status, 'canceled', 'the expiry event leaves it canceled');
  t.equal((await ctx.call('POST', `/v1/bills/${bill.id}/cancel`)).status, 200, 'canceling again is harmless');
  t.equal((await ctx.call('POST', `/v1/bills/${bill.id}/checkout`)).body.error.code, 'bill_canceled');
  t.equal((await ctx.call('GET', '/v1/bills/bill_nope')).status, 404);
});

t.test('an Idempotency-Key makes a retried create return the same bill', async (t) => {
  const ctx = await build(t);
  await account(ctx);
  const k = key('bill');
  const first = await createBill(ctx, { amount: 7000 }, { 'idempotency-key': k });
  const again = await ctx.call('POST', '/v1/bills', { accountId: 'acct_org', name: 'Onboarding', amount: 7000, currency: 'usd' }, { 'idempotency-key': k });
  t.equal(again.status, 201, 'answered as the first, status included');
  t.equal(again.body.id, first.id);
  t.equal((await ctx.stripe.checkout.sessions.list()).data.length, 1);
});

t.test('a key reused once its record is purged makes the bill asked for, never answers with the bill it made before', async (t) => {
  const ctx = await build(t);
  await account(ctx);
  await account(ctx, 'acct_other');
  const k = key('bill');
  const first = await createBill(ctx, { amount: 7000, credits: 70 }, { 'idempotency-key': k });
  await ctx.database.pool.query('DELETE FROM idempotency_records WHERE key = $1', [k]); // past IDEMPOTENCY_RETENTION_HOURS

  const reused = await ctx.call('POST', '/v1/bills', { accountId: 'acct_other', name: 'Support', amount: 9000, currency: 'usd', credits: 90 }, { 'idempotency-key': k });
  t.equal(reused.status, 201, 'a purged key is a new request');
  t.match(reused.body, { accountId: 'acct_other', name: 'Support', amount: 9000, credits: 90, status: 'open' }, 'the bill asked for, not the one the key made a week ago');
  t.not(reused.body.id, first.id);
  t.match(await billOf(ctx, first.id), { accountId: 'acct_org', amount: 7000 }, 'the first bill is untouched');
});
