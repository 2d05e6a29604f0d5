import Stripe from 'stripe';
import t from 'tap';
import { eventually } from '../helper.js';
import { startSimulator } from './helper.js';

t.test('a repeated Idempotency-Key replays the stored response', async (t) => {
  const { stripe } = await startSimulator(t);
  const first = await stripe.customers.create({ email: 'x@example.com' }, { idempotencyKey: 'key-1' });
  const second = await stripe.customers.create({ email: 'x@example.com' }, { idempotencyKey: 'key-1' });
  t.equal(second.id, first.id);
  t.equal(second.lastResponse.headers['idempotent-replayed'], 'true');
  t.equal(first.lastResponse.headers['idempotent-replayed'], undefined);
  t.equal((await stripe.customers.list()).data.length, 1, 'only one customer was created');

  const conflict = await stripe.customers.create({ email: 'y@example.com' }, { idempotencyKey: 'key-1' }).catch((e: unknown) => e);
  t.ok(conflict instanceof Stripe.errors.StripeIdempotencyError);
  t.equal((conflict as Stripe.errors.StripeError).statusCode, 400);
});

t.test('a failure before the endpoint begins saves nothing under the key; a retry runs the request', async (t) => {
  const { stripe, simulator } = await startSimulator(t);
  simulator.failNext({ method: 'POST', path: '/v1/customers' });
  const failed = await stripe.customers.create({ email: 'z@example.com' }, { idempotencyKey: 'key-2' }).catch((e: unknown) => e);
  t.ok(failed instanceof Stripe.errors.StripeAPIError);
  const retried = await stripe.customers.create({ email: 'z@example.com' }, { idempotencyKey: 'key-2' });
  t.match(retried.id, /^cus_/, 'a retry after a 500 runs the request');
});

t.test("a 500 of an endpoint that began is saved under its key and replayed, as Stripe's v1 API does", async (t) => {
  const { stripe, simulator } = await startSimulator(t);
  simulator.failNext({ method: 'POST', path: '/v1/customers', saved: true });
  const failed = await stripe.customers.create({ email: 'w@example.com' }, { idempotencyKey: 'key-3' }).catch((e: unknown) => e);
  t.ok(failed instanceof Stripe.errors.StripeAPIError);
  t.equal((failed as Stripe.errors.StripeError).statusCode, 500);
  const replayed = await stripe.customers.create({ email: 'w@example.com' }, { idempotencyKey: 'key-3' }).catch((e: unknown) => e);
  t.ok(replayed instanceof Stripe.errors.StripeAPIError, 'the same key: the same 500, though the rule is used up');
  t.equal((replayed as Stripe.errors.StripeError).headers?.['idempotent-replayed'], 'true');
  t.equal((await stripe.customers.list({ email: 'w@example.com' })).data.length, 0, 'nothing was made');
  t.match((await stripe.customers.create({ email: 'w@example.com' }, { idempotencyKey: 'key-4' })).id, /^cus_/, 'another key runs the request');
});

t.test('failNext answers with a 500 in Stripe error shape', async (t) => {
  const { stripe, simulator } = await startSimulator(t);
  simulator.failNext({ path: '/v1/customers', count: 2 });
  for (let i = 0; i < 2; i++) {
    const error = await stripe.customers.create({}).catch((e: unknown) => e);
    t.ok(error instanceof Stripe.errors.StripeAPIError, `attempt ${i + 1} fails`);
    t.equal((error as Stripe.errors.StripeError).statusCode, 500);
    t.equal((error as Stripe.errors.StripeError).message, 'Simulated failure');
  }
  t.match((await stripe.customers.create({})).id, /^cus_/, 'the rule is used up after count');

  simulator.failNext({ path: '^/v1/prices$', status: 402, error: { type: 'card_error', message: 'nope', code: 'card_declined' } });
  const card = await stripe.prices.list().catch((e: unknown) => e);
  t.ok(card instanceof Stripe.errors.StripeCardError, 'path may be a regular expression; status and error are configurable');
});

t.test('a delayed answer makes the SDK time out with StripeConnectionError', async (t) => {
  const { clientFor, simulator, stripe } = await startSimulator(t);
  const impatient = clientFor({ timeout: 150 });
  simulator.failNext({ path: '/v1/customers', delayMs: 600 });
  t.equal(simulator.pendingFailures(), 1, 'a failure waiting for its request');
  const error = await impatient.customers.create({ email: 'late@example.com' }).catch((e: unknown) => e);
  t.ok(error instanceof Stripe.errors.StripeConnectionError);
  t.equal(simulator.pendingFailures(), 0, 'met by the request, still in its delay');
  // The simulator still did the work, as Stripe would: the caller cannot know.
  const listed = async () => (await stripe.customers.list({ email: 'late@example.com' })).data.length;
  await eventually(async () => (await listed()) > 0);
  t.equal(await listed(), 1);
});

t.test('failures can be injected over HTTP', async (t) => {
  const { stripe, url } = await startSimulator(t);
  const response = await fetch(`${url}/_simulator/fail`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ method: 'GET', path: '/v1/events', status: 503 }),
  });
  t.equal(response.status, 200);
  const error = await stripe.events.list().catch((e: unknown) => e);
  t.ok(error instanceof Stripe.errors.StripeAPIError);
  t.equal((error as Stripe.errors.StripeError).statusCode, 503);
  t.ok(await stripe.events.list(), 'only once by default');
});

t.test('an Idempotency-Key over 255 characters is refused, as Stripe documents', async (t) => {
  const { stripe } = await startSimulator(t);
  const ok = await stripe.customers.create({ email: 'a@example.com' }, { idempotencyKey: 'k'.repeat(255) });
  t.match(ok.id, /^cus_/, '255 characters are accepted');
  const error = await stripe.customers.create({ email: 'a@example.com' }, { idempotencyKey: 'k'.repeat(256) }).catch((e: unknown) => e);
  t.ok(error instanceof Stripe.errors.StripeInvalidRequestError);
  t.equal((error as Stripe.errors.StripeError).statusCode, 400);
  t.match((error as Stripe.errors.StripeError).message, /up to 255 characters/);
  t.equal((await stripe.customers.list()).data.length, 1, 'nothing was created by the refused request');
});
