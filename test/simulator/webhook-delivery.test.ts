import type Stripe from 'stripe';
import t from 'tap';
import { allDelivered, startReceiver, startSimulator, waitUntil } from './helper.js';

async function paymentSession(stripe: Stripe) {
  return stripe.checkout.sessions.create({
    mode: 'payment',
    success_url: 'https://tally.test/ok',
    metadata: { accountId: 'acc_7' },
    line_items: [{ quantity: 1, price_data: { currency: 'usd', unit_amount: 900, product_data: { name: 'Credits' } } }],
  });
}

t.test('pay() completes the session and delivers a signed checkout.session.completed', async (t) => {
  const receiver = await startReceiver(t);
  const { stripe, simulator } = await startSimulator(t, { webhookUrl: receiver.url });
  const session = await paymentSession(stripe);
  await simulator.pay(session.id);
  await receiver.waitFor((delivered) => delivered.length === 1);

  const [received] = receiver.delivered;
  t.match(received!.signature, /^t=\d+,v1=[0-9a-f]{64}$/);
  const event = received!.event;
  t.match(event.id, /^evt_/);
  t.equal(event.type, 'checkout.session.completed');
  t.equal(event.api_version, '2026-10-28.endive');
  t.equal(event.livemode, false);
  t.same(event.request, { id: null, idempotency_key: null });
  const completed = event.data.object as Stripe.Checkout.Session;
  t.equal(completed.id, session.id);
  t.equal(completed.status, 'complete');
  t.equal(completed.payment_status, 'paid');
  t.same(completed.metadata, { accountId: 'acc_7' });
  t.match(completed.payment_intent, /^pi_/);

  const stored = await stripe.checkout.sessions.retrieve(session.id);
  t.equal(stored.status, 'complete');
  await waitUntil(() => simulator.pendingDeliveries() === 0);
  const fetched = await stripe.events.retrieve(event.id);
  t.equal(fetched.pending_webhooks, 0);
});

t.test('the signature uses wall-clock time even after the simulated clock moved', async (t) => {
  const receiver = await startReceiver(t);
  const { stripe, simulator } = await startSimulator(t, { webhookUrl: receiver.url });
  await simulator.advanceClock(7 * 86400);
  await simulator.pay((await paymentSession(stripe)).id);
  await receiver.waitFor((delivered) => delivered.length === 1);
  const timestamp = Number(/t=(\d+)/.exec(receiver.delivered[0]!.signature)![1]);
  t.ok(Math.abs(timestamp - Date.now() / 1000) < 5, 'constructEvent accepted it within its 300 s tolerance');
  t.ok(receiver.delivered[0]!.event.created >= simulator.now() - 5, 'event.created follows the simulated clock');
});

t.test('a receiver that fails twice gets the event again', async (t) => {
  const receiver = await startReceiver(t, (_event, attempt) => (attempt <= 2 ? 500 : undefined));
  const { stripe, simulator } = await startSimulator(t, { webhookUrl: receiver.url, retrySchedule: [20, 40, 60] });
  await simulator.pay((await paymentSession(stripe)).id);
  await allDelivered(simulator);
  t.equal(receiver.attempts.length, 3, 'two failures, then success');
  t.equal(new Set(receiver.attempts.map((a) => a.event.id)).size, 1, 'the same event each time');
  t.equal(simulator.pendingDeliveries(), 0);
  t.equal((await stripe.events.list({ delivery_success: false })).data.length, 0);
});

t.test('after the retry schedule, the event stays listed with delivery_success=false', async (t) => {
  let failing = true;
  const receiver = await startReceiver(t, () => (failing ? 500 : undefined));
  const { stripe, simulator } = await startSimulator(t, { webhookUrl: receiver.url, retrySchedule: [10, 10] });
  await simulator.pay((await paymentSession(stripe)).id);
  await waitUntil(() => receiver.attempts.length === 3);
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(receiver.attempts.length, 3, 'one attempt plus one per retry, then it stops');

  const undelivered = await stripe.events.list({ delivery_success: false });
  t.same(undelivered.data.map((event) => event.type), ['checkout.session.completed']);
  t.equal(undelivered.data[0]!.pending_webhooks, 1);
  t.equal((await stripe.events.list({ delivery_success: true })).data.length, 0);
  t.equal(simulator.pendingDeliveries(), 1);

  failing = false;
  await simulator.flushDeliveries();
  t.equal(receiver.delivered.length, 1, 'flushDeliveries sends it again, ignoring the schedule');
  t.equal(simulator.pendingDeliveries(), 0);
  t.equal((await stripe.events.list({ delivery_success: true })).data.length, 1);
});

t.test('without a webhook URL events wait until one is set', async (t) => {
  const receiver = await startReceiver(t);
  const { stripe, simulator } = await startSimulator(t);
  await simulator.pay((await paymentSession(stripe)).id);
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.equal(simulator.pendingDeliveries(), 1);
  simulator.setWebhookUrl(receiver.url);
  await allDelivered(simulator);
  t.equal(receiver.delivered.length, 1);
});

t.test('events list filters', async (t) => {
  const { stripe, simulator } = await startSimulator(t);
  const first = await paymentSession(stripe);
  const second = await paymentSession(stripe);
  await simulator.pay(first.id);
  await stripe.checkout.sessions.expire(second.id);
  const all = await stripe.events.list();
  t.same(all.data.map((e) => e.type), ['checkout.session.expired', 'checkout.session.completed'], 'newest first');
  const typed = await stripe.events.list({ types: ['checkout.session.completed'] });
  t.equal(typed.data.length, 1);
  const wildcard = await stripe.events.list({ type: 'checkout.session.*' });
  t.equal(wildcard.data.length, 2);
  const created = all.data[0]!.created;
  t.equal((await stripe.events.list({ created: { gt: created } })).data.length, 0);
  t.equal((await stripe.events.list({ created: { gte: created - 1 } })).data.length, 2);
  const page = await stripe.events.list({ limit: 1, starting_after: all.data[0]!.id });
  t.same(page.data.map((e) => e.id), [all.data[1]!.id]);
});
