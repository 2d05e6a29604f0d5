import t from 'tap';
import pg from 'pg';
import { build, eventually, signedEvent, type TestApp } from '../helper.js';
import { storeEvents } from '../../src/db/stripe-event-queries.js';
import { grantsOf, madeUpPackSession, paidSession, postEvent } from './fixtures.js';

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
  const events = sessions.flatMap((s, i) => {
    const session = madeUpPackSession(s.id, s.accountId, s.credits);
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

t.test('a stopping process does not begin the events still queued: it gives their leases back, and another process takes them at once', async (t) => {
  const ctx = await build(t);
  const sessions = Array.from({ length: 6 }, (_, i) => ({ id: `cs_test_stop_${i}`, accountId: `acct_stop_${i}`, credits: 10 + i }));
  for (const s of sessions) await ctx.call('PUT', `/v1/accounts/${s.accountId}`, {});
  const deliver = (s: (typeof sessions)[number]) => postEvent(ctx, signedEvent(ctx.stripe, 'checkout.session.completed', madeUpPackSession(s.id, s.accountId, s.credits), { id: `evt_${s.id}` }));

  // The first event's grant waits on its account's lock, so the others queue behind it.
  const other = new pg.Client({ connectionString: ctx.databaseUrl });
  await other.connect();
  t.teardown(() => other.end());
  const holder = (await other.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
  await other.query("BEGIN; SELECT 1 FROM accounts WHERE id = 'acct_stop_0' FOR UPDATE");
  t.equal((await deliver(sessions[0])).statusCode, 200);
  // Watched from outside the holder's transaction, which would see one snapshot of pg_stat_activity throughout.
  await eventually(async () => (await ctx.database.pool.query('SELECT 1 FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [holder])).rowCount! > 0);
  t.match(await eventRow(ctx, `evt_${sessions[0].id}`), { status: 'pending', attempts: 1, leased: true }, 'the first event is in its first attempt, waiting');
  const queued = await Promise.all(sessions.slice(1).map(deliver));
  t.same(queued.map((reply) => reply.statusCode), [200, 200, 200, 200, 200], 'the others stored and acknowledged');

  const stopped = ctx.app.stripeEvents.stop();
  await other.query('COMMIT');
  await stopped;
  t.equal((await grantsOf(ctx, 'acct_stop_0')).length, 1, 'the event in hand was finished');
  for (const s of sessions.slice(1)) {
    t.same(await grantsOf(ctx, s.accountId), [], `${s.id}: not begun by the stopping process`);
    t.same(await eventRow(ctx, `evt_${s.id}`), { status: 'pending', attempts: 0, leased: false }, `${s.id}: its lease given back, no attempt counted`);
  }

  // Another process's retry sweep (here the same processor's, called by hand) takes them now, not after the 60 s lease.
  t.equal(await ctx.app.stripeEvents.processDue(), 5, 'due at once');
  for (const s of sessions.slice(1)) t.same((await grantsOf(ctx, s.accountId)).map((g) => Number(g.amount)), [s.credits], `${s.id}: granted once`);
  t.same(await eventRow(ctx, `evt_${sessions[5].id}`), { status: 'processed', attempts: 1, leased: false });
});
