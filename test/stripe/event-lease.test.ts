import t from 'tap';
import { build, eventually, signedEvent, type TestApp } from '../helper.js';
import { storeEvents } from '../../src/db/stripe-event-queries.js';
import { grantsOf, paidSession, postEvent } from './fixtures.js';

const eventRow = async (ctx: TestApp, id: string) =>
  (await ctx.database.pool.query('SELECT status::text, attempts, locked_until IS NOT NULL AS leased FROM stripe_events WHERE id = $1', [id])).rows[0];

t.test('an event stored under the lease of a process that died: left alone while leased, then processed once', async (t) => {
  const ctx = await build(t);
  const session = await paidSession(ctx);
  const event = signedEvent(ctx.stripe, 'checkout.session.completed', session, { id: 'evt_orphaned' });
  // What another process did before it died: stored the event, leased to itself, and answered Stripe.
  await storeEvents(ctx.database.pool, [event.payload], 60);
  t.match(await eventRow(ctx, 'evt_orphaned'), { status: 'pending', attempts: 1, leased: true });

  t.equal(await ctx.app.stripeEvents.processDue(), 0, 'the retry sweep leaves a leased event alone');
  const redelivery = await postEvent(ctx, event);
  t.equal(redelivery.statusCode, 200);
  t.equal(redelivery.json().duplicate, true, "Stripe's redelivery is acknowledged as a duplicate, not processed by this process");
  t.equal((await grantsOf(ctx, 'acct_buyer')).length, 0, 'not granted while another holds the lease');

  await ctx.database.pool.query("UPDATE stripe_events SET locked_until = now() - interval '1 second' WHERE id = 'evt_orphaned'"); // the lease lapses
  await eventually(async () => (await eventRow(ctx, 'evt_orphaned')).status === 'processed');
  t.match(await eventRow(ctx, 'evt_orphaned'), { status: 'processed', attempts: 2, leased: false }, 'taken by the retry loop: its second attempt');
  t.equal((await grantsOf(ctx, 'acct_buyer')).length, 1, 'granted once');
});

t.test('a burst of events for many sessions, with redeliveries and async payments: each session granted and recorded once', async (t) => {
  const ctx = await build(t);
  const sessions = Array.from({ length: 12 }, (_, i) => ({ id: `cs_test_burst_${i}`, accountId: `acct_burst_${i}`, credits: 100 + i }));
  for (const s of sessions) await ctx.call('PUT', `/v1/accounts/${s.accountId}`, {});
  const created = Math.floor(Date.now() / 1000);
  const events = sessions.flatMap((s, i) => {
    const session = {
      id: s.id,
      object: 'checkout.session',
      mode: 'payment',
      status: 'complete',
      payment_status: 'paid',
      amount_total: s.credits * 10,
      currency: 'usd',
      url: null,
      expires_at: created + 86_400,
      metadata: { tally_account_id: s.accountId, tally_kind: 'pack', tally_credits: String(s.credits), tally_quantity: '1' },
    };
    const completed = signedEvent(ctx.stripe, 'checkout.session.completed', session, { id: `evt_burst_${i}` });
    const asyncPaid = signedEvent(ctx.stripe, 'checkout.session.async_payment_succeeded', session, { id: `evt_burst_async_${i}` });
    return i % 2 === 0 ? [completed, completed, asyncPaid] : [asyncPaid, completed];
  });

  const replies = await Promise.all(events.map((event) => postEvent(ctx, event)));
  t.same(replies.map((r) => r.statusCode), events.map(() => 200), 'every delivery acknowledged');
  t.equal(replies.filter((r) => !r.json().duplicate).length, sessions.length * 2, 'each distinct event stored once');
  await eventually(async () => (await ctx.database.pool.query("SELECT count(*)::int AS n FROM stripe_events WHERE status = 'processed'")).rows[0].n === sessions.length * 2);

  for (const s of sessions) {
    const grants = await grantsOf(ctx, s.accountId);
    t.same(grants.map((g) => [Number(g.amount), g.source_key]), [[s.credits, `checkout:${s.id}`]], `${s.id}: one grant of its credits`);
    const view = await ctx.call('GET', `/v1/checkout/sessions/${s.id}`);
    t.match(view.body, { status: 'complete', paymentStatus: 'paid', fulfilled: true, credits: s.credits, grantId: grants[0].id }, `${s.id}: recorded with that grant`);
  }
});
