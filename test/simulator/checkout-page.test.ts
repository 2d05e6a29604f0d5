import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import type Stripe from 'stripe';
import t, { type Test } from 'tap';
import { startReceiver, startSimulator } from './helper.js';

const CHROMIUM = '/usr/bin/chromium';

async function launch(t: Test): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.teardown(() => browser.close());
  return browser;
}

const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing; install it with apt-get install -y chromium`;

t.test('the checkout page pays, redirects to success_url and delivers the event; a declined card does not', { skip }, async (t) => {
  const receiver = await startReceiver(t);
  const { stripe, url } = await startSimulator(t, { webhookUrl: receiver.url });
  // The success page lives on the receiver's origin so the redirect lands on a real server.
  const successBase = new URL(receiver.url).origin;
  const create = () =>
    stripe.checkout.sessions.create({
      mode: 'payment',
      line_items: [{ quantity: 3, price_data: { currency: 'usd', unit_amount: 1250, product_data: { name: 'Credit pack' } } }],
      success_url: `${successBase}/done?session_id={CHECKOUT_SESSION_ID}`,
      cancel_url: `${successBase}/cancelled`,
    });
  const browser = await launch(t);
  const page = await browser.newPage();

  const session = await create();
  t.equal(session.url, `${url}/checkout/${session.id}`);
  await page.goto(session.url!);
  const body = await page.textContent('body');
  t.match(body, 'Credit pack');
  t.match(body, '$37.50', 'total formatted with currency');
  t.equal(await page.inputValue('#card'), '4242 4242 4242 4242');
  await Promise.all([page.waitForURL(`${successBase}/done**`), page.click('#pay')]);
  t.equal(page.url(), `${successBase}/done?session_id=${session.id}`, '{CHECKOUT_SESSION_ID} replaced');
  await receiver.waitFor((delivered) => delivered.length === 1);
  const event = receiver.delivered[0]!.event;
  t.equal(event.type, 'checkout.session.completed');
  t.equal((event.data.object as Stripe.Checkout.Session).id, session.id);
  t.equal((event.data.object as Stripe.Checkout.Session).payment_status, 'paid');

  await page.goto(session.url!);
  t.match(await page.textContent('#message'), /already been paid/, 'a completed session says so');

  const declined = await create();
  await page.goto(declined.url!);
  await page.fill('#card', '4000 0000 0000 0002');
  await Promise.all([page.waitForLoadState('load'), page.click('#pay')]);
  t.match(await page.textContent('#message'), 'Your card was declined.');
  t.equal((await stripe.checkout.sessions.retrieve(declined.id)).status, 'open', 'nothing was paid');
  t.equal((await stripe.events.list()).data.length, 1, 'no new event');

  await Promise.all([page.waitForURL(`${successBase}/cancelled`), page.click('#cancel')]);
  t.pass('Cancel goes to cancel_url');
});
