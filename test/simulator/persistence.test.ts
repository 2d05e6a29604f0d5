import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator } from './helper.js';

t.test('with a state file, what the API made is there again after a restart, and so is the simulated clock', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-simulator-state-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const stateFile = join(dir, 'stripe-simulator.json');

  const first = await startSimulator(t, { stateFile });
  const customer = await first.stripe.customers.create({ email: 'kept@example.com' });
  const product = await first.stripe.products.create({ name: 'Kept' });
  const price = await first.stripe.prices.create({ product: product.id, unit_amount: 900, currency: 'usd' });
  const session = await first.stripe.checkout.sessions.create({ mode: 'payment', customer: customer.id, line_items: [{ price: price.id, quantity: 1 }], success_url: 'http://127.0.0.1/ok' });
  const advanced = await (await fetch(`${first.url}/_simulator/clock/advance`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ seconds: 3600 }) })).json();
  await first.simulator.close();

  const second = await startSimulator(t, { stateFile });
  t.equal((await second.stripe.customers.retrieve(customer.id)).id, customer.id, 'the customer');
  t.equal((await second.stripe.prices.retrieve(price.id)).unit_amount, 900, 'the price');
  t.match(await second.stripe.checkout.sessions.retrieve(session.id), { id: session.id, status: 'open', customer: customer.id }, 'the open session');
  const clock = await (await fetch(`${second.url}/_simulator/clock`)).json();
  t.ok(clock.now >= advanced.now, 'the clock is still an hour ahead');
  const again = await second.stripe.checkout.sessions.create({ mode: 'payment', customer: customer.id, line_items: [{ price: price.id, quantity: 2 }], success_url: 'http://127.0.0.1/ok' });
  t.equal(again.amount_total, 1800, 'and new objects can use the old ones');
  await second.simulator.close();
  t.match(JSON.parse(readFileSync(stateFile, 'utf8')), { version: 1, maps: { checkoutSessions: [[session.id, {}], [again.id, {}]] } }, 'written whole on close');

  writeFileSync(stateFile, JSON.stringify({ version: 99, maps: {} }));
  await t.rejects(startSimulator(t, { stateFile }), /another version of the simulator/, 'a file of another version is not half read');
});

t.test('without a state file, a new simulator starts empty', async (t) => {
  const first = await startSimulator(t);
  await first.stripe.customers.create({ email: 'gone@example.com' });
  await first.simulator.close();
  const second = await startSimulator(t);
  t.equal((await second.stripe.customers.list()).data.length, 0);
});
