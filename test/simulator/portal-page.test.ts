import type Stripe from 'stripe';
import t from 'tap';
import { allDelivered, monthlyPrice, startReceiver, startSimulator, type ReceivedEvent } from './helper.js';

const DAY = 86_400;
const ofType = (received: ReceivedEvent[], type: string) => received.filter((r) => r.event.type === type);

async function submit(action: string, fields: Record<string, string>): Promise<Response> {
  return fetch(action, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
  });
}

t.test('the portal shows subscriptions and invoices and changes them', async (t) => {
  const receiver = await startReceiver(t);
  const { stripe, simulator } = await startSimulator(t, { webhookUrl: receiver.url });
  const basic = await monthlyPrice(stripe, 1000);
  const pro = await monthlyPrice(stripe, 2500);
  const checkout = await stripe.checkout.sessions.create({
    mode: 'subscription', customer_email: 'portal@example.com', line_items: [{ price: basic.id, quantity: 1 }],
    success_url: 'https://tally.test/ok',
  });
  await simulator.pay(checkout.id, '4000000000000341');
  await simulator.advanceClock(32 * DAY);
  const subscriptionId = (await stripe.checkout.sessions.retrieve(checkout.id)).subscription as string;
  t.equal((await stripe.subscriptions.retrieve(subscriptionId)).status, 'past_due');

  const customer = (await stripe.subscriptions.retrieve(subscriptionId)).customer as string;
  const portal = await stripe.billingPortal.sessions.create({ customer, return_url: 'https://tally.test/account' });
  const page = await (await fetch(portal.url)).text();
  t.match(page, 'Plan 1000');
  t.match(page, 'past_due');
  t.match(page, /id="cancel-subscription"/);
  t.match(page, new RegExp(`<select id="plan" name="price"><option value="${pro.id}">`));
  t.match(page, /class="invoice-status">open</);
  t.match(page, /class="invoice-status">paid</);
  t.match(page, /id="return" href="https:\/\/tally.test\/account"/);

  const declined = await submit(`${portal.url}/update-card`, { card: '4000 0000 0000 0002' });
  t.equal(declined.status, 402);
  t.match(await declined.text(), 'Your card was declined.');

  const updated = await submit(`${portal.url}/update-card`, { card: '4242 4242 4242 4242' });
  t.equal(updated.status, 303);
  t.equal((await stripe.subscriptions.retrieve(subscriptionId)).status, 'active', 'the open invoice was retried with the new card');
  t.same((await stripe.invoices.list({ subscription: subscriptionId, status: 'open' })).data, []);

  const changed = await submit(`${portal.url}/change-plan`, { subscription: subscriptionId, price: pro.id });
  t.equal(changed.status, 303);
  t.equal((await stripe.subscriptions.retrieve(subscriptionId)).items.data[0]!.price.id, pro.id);

  const canceled = await submit(`${portal.url}/cancel-subscription`, { subscription: subscriptionId });
  t.equal(canceled.status, 303);
  t.equal((await stripe.subscriptions.retrieve(subscriptionId)).cancel_at_period_end, true);
  t.match(await (await fetch(portal.url)).text(), /id="resume-subscription"/);

  await allDelivered(simulator);
  const updates = ofType(receiver.delivered, 'customer.subscription.updated').map((r) => r.event.data.object as Stripe.Subscription);
  t.ok(updates.some((s) => s.items.data[0]!.price.id === pro.id), 'plan change fired customer.subscription.updated');
  t.ok(updates.some((s) => s.cancel_at_period_end), 'cancel fired customer.subscription.updated');
  t.equal(ofType(receiver.delivered, 'invoice.paid').length, 2, 'first invoice and the retried renewal');

  const stranger = await submit(`${portal.url}/cancel-subscription`, { subscription: 'sub_other' });
  t.equal(stranger.status, 404);
});
