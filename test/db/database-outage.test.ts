import t from 'tap';
import pg from 'pg';
import { build, eventually, key, ledgerSum, signedEvent } from '../helper.js';
import { grantsOf, paidSession, postEvent } from '../stripe/fixtures.js';
import { startOwnServer } from '../database.js';

t.test('while PostgreSQL is down every request that needs it is a 503 database_unavailable, and Tally serves again, with no restart, once it is back', async (t) => {
  const postgres = await startOwnServer(t);
  const ctx = await build(t, { databaseUrl: postgres.url });
  const { call } = ctx;
  await call('PUT', '/v1/accounts/acct_outage', {});
  await call('POST', '/v1/accounts/acct_outage/grants', { amount: 100 }, { 'idempotency-key': key() });
  t.equal((await call('POST', '/v1/accounts/acct_outage/spend', { amount: 10 }, { 'idempotency-key': key() })).body.available, 90);

  const paid = signedEvent(ctx.stripe, 'checkout.session.completed', await paidSession(ctx), { id: 'evt_during_outage' });

  // Spends in flight when the server stops: each is acknowledged, or a 503, never a 500.
  const inFlight = Array.from({ length: 20 }, () => key());
  const spends = inFlight.map((k) => call('POST', '/v1/accounts/acct_outage/spend', { amount: 1 }, { 'idempotency-key': k }));
  await postgres.stop();
  const answered = await Promise.all(spends);
  t.same([...new Set(answered.map((a) => a.status))].filter((status) => status !== 200 && status !== 503), [], `in flight: acknowledged or 503 (${answered.map((a) => a.status).join(' ')})`);
  const acknowledged = answered.filter((a) => a.status === 200).length;

  const retried = key();
  const requests: Array<[string, () => ReturnType<typeof call>]> = [
    ['a spend', () => call('POST', '/v1/accounts/acct_outage/spend', { amount: 5 }, { 'idempotency-key': retried })],
    ['a balance read', () => call('GET', '/v1/accounts/acct_outage/balance')],
    ['a hold', () => call('POST', '/v1/accounts/acct_outage/holds', { amount: 5 }, { 'idempotency-key': key() })],
    ['the ledger', () => call('GET', '/v1/accounts/acct_outage/ledger')],
    ['a pack', () => call('POST', '/v1/packs', { name: 'Outage', credits: 10, unitAmount: 500, currency: 'usd' }, { 'idempotency-key': key() })],
    ['readiness', () => call('GET', '/readyz')],
  ];
  for (const [name, send] of requests) {
    const answer = await send();
    t.equal(answer.status, 503, `${name}: ${JSON.stringify(answer.body)}`);
    t.equal(answer.body.error?.code, 'database_unavailable', `${name}: the code`);
    t.equal(answer.headers['retry-after'], '1', `${name}: Retry-After`);
  }
  const webhook = await postEvent(ctx, paid);
  t.same({ status: webhook.statusCode, code: webhook.json().error?.code }, { status: 503, code: 'database_unavailable' }, 'a Stripe event is a 503: Stripe sends it again later');
  t.notOk(ctx.logs.some((line) => line.includes('"level":50') && line.includes('unhandled error')), 'nothing logged as an unhandled error');
  t.equal((await call('GET', '/healthz')).status, 200, 'the process is alive all the while');

  await postgres.start();
  const before = (await call('GET', '/v1/accounts/acct_outage/balance')).body.available;
  t.ok(before <= 90 - acknowledged && before >= 90 - inFlight.length, `no acknowledged spend lost: ${acknowledged} acknowledged, ${before} left`);
  const again = await call('POST', '/v1/accounts/acct_outage/spend', { amount: 5 }, { 'idempotency-key': retried });
  t.equal(again.status, 200, `the spend that was refused, sent again with its key, goes through: ${JSON.stringify(again.body)}`);
  const resent = await Promise.all(inFlight.map((k) => call('POST', '/v1/accounts/acct_outage/spend', { amount: 1 }, { 'idempotency-key': k })));
  t.same(resent.map((a) => a.status), inFlight.map(() => 200), 'each spend that was in flight, sent again with its key: its first outcome, or applied now');
  t.equal((await call('GET', '/v1/accounts/acct_outage/balance')).body.available, 90 - 20 - 5, 'each applied once, whatever the stop did to it');
  t.equal((await call('GET', '/readyz')).status, 200, 'ready again');
  t.equal((await postEvent(ctx, paid)).statusCode, 200, "Stripe's redelivery is taken");
  await eventually(async () => (await call('GET', '/v1/accounts/acct_buyer/balance')).body.available === 500);
  t.equal((await postEvent(ctx, paid)).json().duplicate, true, 'a second redelivery is a duplicate');
  t.equal((await grantsOf(ctx, 'acct_buyer')).length, 1, 'the paid checkout granted its credits once');
  t.equal(Number((await ledgerSum(ctx.database, 'acct_outage')).available), 65, 'the ledger sums to the balance: nothing half-applied');
});

t.test('a keyed create whose database goes away while Stripe is asked is a 503, and the same request sent again once it is back makes one pack', async (t) => {
  const postgres = await startOwnServer(t);
  const ctx = await build(t, { databaseUrl: postgres.url, env: { STRIPE_TIMEOUT_MS: '20000' } });
  const watcher = new pg.Client({ connectionString: postgres.url });
  // Stripe answers the product 8 s late (within the 20 s Stripe timeout): time for the server to stop while Tally waits for it
  // (the stop came 954 ms after the create began with both cores busy).
  ctx.simulator.failNext({ method: 'POST', path: '/v1/products', delayMs: 8000 });
  const packKey = key();
  const body = { name: 'Made mid-outage', credits: 10, unitAmount: 500, currency: 'usd' };
  const creating = ctx.call('POST', '/v1/packs', body, { 'idempotency-key': packKey });
  await watcher.connect();
  await eventually(async () => (await watcher.query('SELECT 1 FROM idempotency_records WHERE key = $1', [packKey])).rowCount === 1);
  await watcher.end();
  await postgres.stop();
  const answer = await creating;
  t.same({ status: answer.status, code: answer.body.error?.code }, { status: 503, code: 'database_unavailable' }, `the create: ${JSON.stringify(answer.body)}`);
  t.notOk(ctx.logs.some((line) => line.includes('unhandled error')), 'nothing logged as an unhandled error');

  await postgres.start();
  const again = await ctx.call('POST', '/v1/packs', body, { 'idempotency-key': packKey });
  t.equal(again.status, 201, `sent again with its key: made now (${JSON.stringify(again.body)})`);
  const packs = (await ctx.call('GET', '/v1/packs')).body.data.filter((p: { name: string }) => p.name === body.name);
  t.equal(packs.length, 1, 'one pack');
  const products = (await ctx.stripe.products.list({ limit: 100 })).data.filter((p) => p.name === body.name);
  t.equal(products.length, 1, 'one Stripe product: the retry reused the first');
});
