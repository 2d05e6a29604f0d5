import t from 'tap';
import { build, eventually, signedEvent, WEBHOOK_SECRET, type TestApp } from '../helper.js';
import { freePort } from '../../src/db/embedded-postgres.js';
import { accountAndPack, firstOutcome, grantsOf, madeUpPackSession, openCheckout, paidSession, postEvent } from './fixtures.js';

t.test('the same completed event 10 times at once, racing the success sync: one grant', async (t) => {
  const ctx = await build(t);
  const session = await paidSession(ctx);
  const event = signedEvent(ctx.stripe, 'checkout.session.completed', session, { id: 'evt_dup_1' });
  const replies = await Promise.all([
    ...Array.from({ length: 10 }, () => postEvent(ctx, event)),
    ctx.call('POST', `/v1/checkout/sessions/${session.id}/sync`),
  ]);
  const deliveries = replies.slice(0, 10).map((r) => ('statusCode' in r ? r.statusCode : r.status));
  t.same(deliveries, Array(10).fill(200), 'every delivery is acknowledged');
  t.equal(replies.slice(0, 10).filter((r) => 'json' in r && !r.json().duplicate).length, 1, 'one stored, nine recognised as duplicates');
  await eventually(async () => (await ctx.database.pool.query("SELECT 1 FROM stripe_events WHERE id = 'evt_dup_1' AND status = 'processed'")).rowCount);
  const grants = await grantsOf(ctx, 'acct_buyer');
  t.equal(grants.length, 1, 'one grant');
  t.equal((await ctx.call('GET', '/v1/accounts/acct_buyer/balance')).body.available, 500);
});

t.test('events in the wrong order: async_payment_succeeded before completed, one grant', async (t) => {
  const ctx = await build(t);
  const session = await paidSession(ctx);
  t.equal((await postEvent(ctx, signedEvent(ctx.stripe, 'checkout.session.async_payment_succeeded', session))).statusCode, 200);
  await eventually(async () => (await grantsOf(ctx, 'acct_buyer')).length);
  const unpaidEarlier = { ...session, payment_status: 'unpaid' };
  t.equal((await postEvent(ctx, signedEvent(ctx.stripe, 'checkout.session.completed', unpaidEarlier))).statusCode, 200);
  t.equal((await postEvent(ctx, signedEvent(ctx.stripe, 'checkout.session.completed', session))).statusCode, 200);
  await eventually(async () => (await ctx.database.pool.query("SELECT count(*)::int AS n FROM stripe_events WHERE status = 'processed'")).rows[0].n === 3);
  t.equal((await grantsOf(ctx, 'acct_buyer')).length, 1);
  const view = await ctx.call('GET', `/v1/checkout/sessions/${session.id}`);
  t.match(view.body, { status: 'complete', fulfilled: true }, 'an older unpaid view does not undo the fulfilment');
});

t.test('unpaid completion waits; expiry closes without credits; unknown events are recorded', async (t) => {
  const ctx = await build(t);
  const { pack } = await accountAndPack(ctx);
  const checkout = await openCheckout(ctx, 'acct_buyer', pack.id);
  const session = await ctx.stripe.checkout.sessions.retrieve(checkout.id);
  await postEvent(ctx, signedEvent(ctx.stripe, 'checkout.session.completed', { ...session, status: 'complete', payment_status: 'unpaid' }));
  const other = await openCheckout(ctx, 'acct_buyer', pack.id);
  await ctx.stripe.checkout.sessions.expire(other.id);
  await postEvent(ctx, signedEvent(ctx.stripe, 'checkout.session.expired', await ctx.stripe.checkout.sessions.retrieve(other.id)));
  await postEvent(ctx, signedEvent(ctx.stripe, 'customer.created', { id: 'cus_x', object: 'customer' }, { id: 'evt_unhandled' }));
  await eventually(async () => (await ctx.database.pool.query("SELECT count(*)::int AS n FROM stripe_events WHERE status IN ('processed', 'ignored')")).rows[0].n === 3);
  t.match((await ctx.call('GET', `/v1/checkout/sessions/${checkout.id}`)).body, { status: 'complete', paymentStatus: 'unpaid', fulfilled: false });
  t.match((await ctx.call('GET', `/v1/checkout/sessions/${other.id}`)).body, { status: 'expired', fulfilled: false });
  t.equal((await grantsOf(ctx, 'acct_buyer')).length, 0, 'no credits');
  const unhandled = await ctx.database.pool.query("SELECT status FROM stripe_events WHERE id = 'evt_unhandled'");
  t.equal(unhandled.rows[0].status, 'ignored', 'acknowledged and recorded');
});

t.test('bad signature, wrong secret, tampered body, old timestamp: 400 and nothing stored', async (t) => {
  const ctx = await build(t);
  const session = await paidSession(ctx);
  const good = signedEvent(ctx.stripe, 'checkout.session.completed', session);
  const cases: Array<[string, { payload: string; header: string }]> = [
    ['no signature', { payload: good.payload, header: '' }],
    ['garbage signature', { payload: good.payload, header: 't=1,v1=abc' }],
    ['wrong secret', signedEvent(ctx.stripe, 'checkout.session.completed', session, { secret: 'whsec_wrong' })],
    ['tampered body', { payload: good.payload.replace('"paid"', '"no_payment_required"'), header: good.header }],
    ['old timestamp', signedEvent(ctx.stripe, 'checkout.session.completed', session, { timestamp: Math.floor(Date.now() / 1000) - 600 })],
  ];
  for (const [name, event] of cases) {
    const reply = await ctx.app.inject({
      method: 'POST',
      url: '/v1/webhooks/stripe',
      payload: event.payload,
      headers: { 'content-type': 'application/json', ...(event.header ? { 'stripe-signature': event.header } : {}) },
    });
    t.equal(reply.statusCode, 400, `${name}: 400`);
    t.equal(reply.json().error.code, 'invalid_signature', name);
  }
  const reparsed = JSON.stringify(JSON.parse(good.payload));
  const reserialized = await ctx.app.inject({ method: 'POST', url: '/v1/webhooks/stripe', payload: reparsed, headers: { 'content-type': 'application/json', 'stripe-signature': good.header } });
  t.equal(reserialized.statusCode, 400, 'the signature is checked on the raw bytes');
  const stored = await ctx.database.pool.query('SELECT count(*)::int AS n FROM stripe_events');
  t.equal(stored.rows[0].n, 0, 'no event row');
  t.equal((await grantsOf(ctx, 'acct_buyer')).length, 0);
});

t.test('a failing event is retried by Tally itself until it succeeds', async (t) => {
  const ctx = await build(t);
  const session = await paidSession(ctx);
  // The session names an account that does not exist yet: processing fails and is retried.
  const orphan = { ...session, id: 'cs_test_orphan', metadata: { ...session.metadata, tally_account_id: 'acct_later' } };
  t.equal((await postEvent(ctx, signedEvent(ctx.stripe, 'checkout.session.completed', orphan, { id: 'evt_retry' }))).statusCode, 200, 'stored and acknowledged');
  const failed = await eventually(async () => (await ctx.database.pool.query("SELECT attempts, last_error FROM stripe_events WHERE id = 'evt_retry' AND status = 'failed'")).rows[0]);
  t.match(failed.last_error, /account/);
  await ctx.call('PUT', '/v1/accounts/acct_later', {});
  await eventually(async () => (await ctx.database.pool.query("SELECT 1 FROM stripe_events WHERE id = 'evt_retry' AND status = 'processed'")).rowCount, 15_000);
  t.equal((await grantsOf(ctx, 'acct_later')).length, 1, 'granted once it could be');
});

t.test('a paid session whose tally_credits is not a number: processed as nothing to do, with a warning, not failing for ever', async (t) => {
  const ctx = await build(t);
  await accountAndPack(ctx);
  const pack = madeUpPackSession('cs_test_lots', 'acct_buyer', 500);
  const subscription = { ...madeUpPackSession('cs_test_lots_sub', 'acct_buyer', 500), mode: 'subscription', subscription: 'sub_lots', invoice: 'in_lots' };
  for (const session of [pack, subscription]) {
    const eventId = `evt_${session.id}`;
    const lots = { ...session, metadata: { ...session.metadata, tally_kind: session.mode === 'subscription' ? 'subscription' : 'pack', tally_credits: 'lots' } };
    t.equal((await postEvent(ctx, signedEvent(ctx.stripe, 'checkout.session.completed', lots, { id: eventId }))).statusCode, 200, `${session.mode}: stored and acknowledged`);
    const outcome = await firstOutcome(ctx, eventId);
    t.match(outcome, { status: 'processed', attempts: 1, lastError: null }, `${session.mode}: processed, not failed`);
    t.ok(outcome.warned && ctx.logs.some((line) => line.includes(session.id) && line.includes('tally_credits')), `${session.mode}: a warning names the event, the session and why`);
  }
  t.same(await grantsOf(ctx, 'acct_buyer'), [], 'nothing granted');
  t.equal((await ctx.database.pool.query('SELECT count(*)::int AS n FROM checkouts')).rows[0].n, 0, 'nothing recorded');
});

t.test('a paid pack session whose tally_quantity was edited into something else: its credits granted once, the quantity unread', async (t) => {
  const ctx = await build(t);
  await accountAndPack(ctx);
  const quantities = ['two', '1.5', '0', '-3', '99999999999', ''];
  for (const [i, quantity] of quantities.entries()) {
    const session = madeUpPackSession(`cs_test_quantity_${i}`, 'acct_buyer', 100);
    const edited = { ...session, metadata: { ...session.metadata, tally_quantity: quantity } };
    t.equal((await postEvent(ctx, signedEvent(ctx.stripe, 'checkout.session.completed', edited, { id: `evt_quantity_${i}` }))).statusCode, 200);
    t.match(await firstOutcome(ctx, `evt_quantity_${i}`), { status: 'processed', attempts: 1, lastError: null }, `tally_quantity '${quantity}': processed, not failed`);
  }
  t.equal((await grantsOf(ctx, 'acct_buyer')).length, quantities.length, 'each paid session granted once');
  t.equal((await ctx.call('GET', '/v1/accounts/acct_buyer/balance')).body.available, 100 * quantities.length, 'every paid credit');
  const recorded = (await ctx.database.pool.query("SELECT DISTINCT quantity, fulfilled_at IS NOT NULL AS fulfilled FROM checkouts")).rows;
  t.same(recorded, [{ quantity: 1, fulfilled: true }], 'recorded fulfilled, with the quantity of one pack');
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

/** Whether a warning names the session and says its metadata is not what Tally recorded. */
const warnedEdited = (ctx: TestApp, sessionId: string) =>
  ctx.logs.some((line) => JSON.parse(line).level === 40 && line.includes(sessionId) && line.includes('not what Tally recorded'));

t.test("a recorded pack checkout whose session metadata was edited at Stripe grants what Tally recorded, to the account it recorded (not the edited account or credits); its refund takes them back", async (t) => {
  const ctx = await build(t);
  const session = await paidSession(ctx);
  await ctx.call('PUT', '/v1/accounts/acct_other', {});
  // Checkout Session metadata can be changed through Stripe's API (POST /v1/checkout/sessions/:id) by anything holding the key.
  const edited = { ...session, metadata: { ...session.metadata, tally_account_id: 'acct_other', tally_credits: '99999' } };
  t.equal((await postEvent(ctx, signedEvent(ctx.stripe, 'checkout.session.completed', edited, { id: 'evt_edited' }))).statusCode, 200);
  await firstOutcome(ctx, 'evt_edited');
  t.match((await ctx.call('GET', `/v1/checkout/sessions/${session.id}`)).body, { accountId: 'acct_buyer', credits: 500, fulfilled: true }, "Tally's own record of the checkout: acct_buyer, 500 credits");
  t.equal((await ctx.call('GET', '/v1/accounts/acct_buyer/balance')).body.available, 500, 'the account Tally opened the checkout for gets the 500 credits it paid for');
  t.same(await grantsOf(ctx, 'acct_other'), [], 'the account named by the edited metadata gets nothing');
  t.ok(warnedEdited(ctx, session.id), 'a warning names the session whose metadata disagrees');

  const charge = (await ctx.stripe.charges.list({ payment_intent: session.payment_intent as string })).data[0]!;
  await ctx.stripe.refunds.create({ charge: charge.id });
  await postEvent(ctx, signedEvent(ctx.stripe, 'charge.refunded', await ctx.stripe.charges.retrieve(charge.id), { id: 'evt_refunded' }));
  await firstOutcome(ctx, 'evt_refunded');
  const left = (await ctx.call('GET', '/v1/accounts/acct_buyer/balance')).body.available + (await ctx.call('GET', '/v1/accounts/acct_other/balance')).body.available;
  t.equal(left, 0, 'the payment refunded in full: no credit of it is left anywhere');
});

t.test("a recorded, paid pack checkout whose session's tally_kind was edited at Stripe is still granted its pack, not recorded fulfilled with no grant", async (t) => {
  const ctx = await build(t);
  const session = await paidSession(ctx);
  const edited = { ...session, metadata: { ...session.metadata, tally_kind: 'subscription' } };
  t.equal((await postEvent(ctx, signedEvent(ctx.stripe, 'checkout.session.completed', edited, { id: 'evt_kind' }))).statusCode, 200);
  await firstOutcome(ctx, 'evt_kind');
  const recorded = (await ctx.call('GET', `/v1/checkout/sessions/${session.id}`)).body;
  t.equal((await ctx.call('GET', '/v1/accounts/acct_buyer/balance')).body.available, 500, 'the paid pack grants its 500 credits');
  t.ok(!recorded.fulfilled || recorded.grantId !== null, `not recorded fulfilled without a grant (recorded: fulfilled ${recorded.fulfilled}, grantId ${recorded.grantId}), which no reconciler pass looks at again`);
});

t.test("a recorded, paid pack checkout whose session's tally metadata was removed at Stripe is granted from Tally's record, not ignored (and later expired)", async (t) => {
  const ctx = await build(t);
  const session = await paidSession(ctx);
  t.equal((await postEvent(ctx, signedEvent(ctx.stripe, 'checkout.session.completed', { ...session, metadata: {} }, { id: 'evt_bare' }))).statusCode, 200);
  t.match(await firstOutcome(ctx, 'evt_bare'), { status: 'processed', attempts: 1, lastError: null });
  t.match((await ctx.call('GET', `/v1/checkout/sessions/${session.id}`)).body, { accountId: 'acct_buyer', credits: 500, status: 'complete', fulfilled: true });
  t.match(await grantsOf(ctx, 'acct_buyer'), [{ source_key: `checkout:${session.id}`, amount: 500 }], 'granted once, to the account Tally recorded');
  t.ok(warnedEdited(ctx, session.id), 'a warning names the session whose metadata is gone');
});

t.test("a paid one-time session Tally never recorded whose tally_kind says subscription: recorded unfulfilled with a warning, not fulfilled with no grant", async (t) => {
  const ctx = await build(t);
  await accountAndPack(ctx);
  const session = madeUpPackSession('cs_test_kind_only', 'acct_buyer', 500);
  session.metadata.tally_kind = 'subscription';
  t.equal((await postEvent(ctx, signedEvent(ctx.stripe, 'checkout.session.completed', session, { id: 'evt_kind_only' }))).statusCode, 200);
  t.match(await firstOutcome(ctx, 'evt_kind_only'), { status: 'processed', attempts: 1, lastError: null });
  t.match((await ctx.call('GET', `/v1/checkout/sessions/${session.id}`)).body, { status: 'complete', paymentStatus: 'paid', fulfilled: false, grantId: null });
  t.same(await grantsOf(ctx, 'acct_buyer'), [], 'nothing granted');
  t.ok(ctx.logs.some((line) => JSON.parse(line).level === 40 && line.includes(session.id) && line.includes('pays for nothing')), 'a warning names the session');
});

t.test('Tally down while Stripe delivers, then up: redelivered, processed, nothing lost or doubled', async (t) => {
  const port = await freePort();
  const ctx = await build(t);
  const { pack } = await accountAndPack(ctx);
  const checkouts = [await openCheckout(ctx, 'acct_buyer', pack.id), await openCheckout(ctx, 'acct_buyer', pack.id)];
  ctx.simulator.setWebhookUrl(`http://127.0.0.1:${port}/v1/webhooks/stripe`); // nobody listens there yet
  for (const c of checkouts) await ctx.simulator.pay(c.id);
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.ok(ctx.simulator.pendingDeliveries() >= 2, 'deliveries are failing');
  t.equal((await grantsOf(ctx, 'acct_buyer')).length, 0);
  await ctx.app.listen({ port, host: '127.0.0.1' });
  await eventually(async () => (await grantsOf(ctx, 'acct_buyer')).length === 2 && ctx.simulator.pendingDeliveries() === 0, 15_000);
  await ctx.simulator.flushDeliveries(); // and Stripe may redeliver once more
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal((await grantsOf(ctx, 'acct_buyer')).length, 2, 'each paid checkout granted once');
  t.equal((await ctx.call('GET', '/v1/accounts/acct_buyer/balance')).body.available, 1000);
});

t.test('a signed body that is not a Stripe event: 400 invalid_event and nothing stored, not a 500 or an event failing for ever', async (t) => {
  const ctx = await build(t);
  const bodies = [
    '{}',
    'null',
    '[]',
    '{"id":"evt_no_type","created":1764000000,"data":{"object":{}}}',
    '{"id":"evt_bad_created","type":"checkout.session.completed","created":"soon","data":{"object":{}}}',
    '{"id":"evt_null_object","type":"checkout.session.completed","created":1764000000,"data":{"object":null}}',
  ];
  for (const payload of bodies) {
    const header = ctx.stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET });
    const reply = await postEvent(ctx, { payload, header });
    t.equal(reply.statusCode, 400, `${payload}: 400`);
    t.equal(reply.json().error?.code, 'invalid_event', payload);
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal((await ctx.database.pool.query('SELECT count(*)::int AS n FROM stripe_events')).rows[0].n, 0, 'no event row');
});

t.test('an event carrying text PostgreSQL cannot keep (U+0000, an unpaired surrogate) is stored, acknowledged and granted, not a 500 at every delivery', async (t) => {
  const ctx = await build(t);
  const session = await paidSession(ctx);
  const typed = { ...session, customer_details: { name: 'Ada\u0000Lovelace', address: { line1: 'Flat \ud800 1' } } };
  const event = signedEvent(ctx.stripe, 'checkout.session.completed', typed, { id: 'evt_unstorable' });
  const reply = await postEvent(ctx, event);
  t.equal(reply.statusCode, 200, 'acknowledged');
  t.equal(reply.json().duplicate, false);
  await eventually(async () => (await ctx.database.pool.query("SELECT 1 FROM stripe_events WHERE id = 'evt_unstorable' AND status = 'processed'")).rowCount);
  const stored = (await ctx.database.pool.query("SELECT payload FROM stripe_events WHERE id = 'evt_unstorable'")).rows[0].payload;
  t.equal(stored.data.object.customer_details.name, 'Ada\uFFFDLovelace', 'kept with the character replaced');
  t.equal(stored.data.object.customer_details.address.line1, 'Flat \uFFFD 1');
  t.equal(stored.data.object.id, session.id, 'and the rest as it came');
  t.equal((await postEvent(ctx, event)).json().duplicate, true, 'a redelivery is a duplicate');
  t.equal((await grantsOf(ctx, 'acct_buyer')).length, 1, 'granted once');

  // The event reconciler stores what Stripe's list gives the same way.
  const listed = JSON.parse(signedEvent(ctx.stripe, 'refund.updated', { id: 're_x', object: 'refund', status: 'succeeded', reason: null, metadata: { note: 'a\u0000b' } }, { id: 'evt_listed' }).payload);
  t.equal(await ctx.app.stripeEvents.replay(listed), true, 'caught up and stored');
});

t.test('a view of the session read before its expiry, written after the expired event, does not record it open again', async (t) => {
  const ctx = await build(t);
  const { pack } = await accountAndPack(ctx);
  const checkout = await openCheckout(ctx, 'acct_buyer', pack.id);
  // What the success page's sync (or the reconciler) read from Stripe just before the session expired.
  const readBefore = await ctx.stripe.checkout.sessions.retrieve(checkout.id);
  await ctx.stripe.checkout.sessions.expire(checkout.id);
  await postEvent(ctx, signedEvent(ctx.stripe, 'checkout.session.expired', await ctx.stripe.checkout.sessions.retrieve(checkout.id), { id: 'evt_expired' }));
  await eventually(async () => (await ctx.database.pool.query("SELECT 1 FROM stripe_events WHERE id = 'evt_expired' AND status = 'processed'")).rowCount);
  t.match((await ctx.call('GET', `/v1/checkout/sessions/${checkout.id}`)).body, { status: 'expired' });

  const late = await ctx.app.checkouts.fulfil(readBefore); // the sync's own write, after the webhook's
  t.equal(late.status, 'expired', 'the sync answers what Tally records');
  t.match((await ctx.call('GET', `/v1/checkout/sessions/${checkout.id}`)).body, { status: 'expired', fulfilled: false }, 'still expired, as at Stripe');
});
