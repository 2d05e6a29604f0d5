import t from 'tap';
import { ADMIN_KEY, build, key, ledgerSum, type TestContext } from '../helper.js';

async function funded(t: TestContext, amount: number) {
  const ctx = await build(t);
  await ctx.call('PUT', '/v1/accounts/acct_h', {});
  await ctx.call('POST', '/v1/accounts/acct_h/grants', { amount }, { 'idempotency-key': key() });
  return ctx;
}

t.test('a hold reserves credits; capturing less than held gives the rest back', async (t) => {
  const { call, database } = await funded(t, 100);
  const hold = await call('POST', '/v1/accounts/acct_h/holds', { amount: 60, reason: 'llm stream' }, { 'idempotency-key': key() });
  t.equal(hold.status, 201);
  t.match(hold.body, { status: 'active', amount: 60, available: 40, held: 60 });
  const blocked = await call('POST', '/v1/accounts/acct_h/spend', { amount: 41 }, { 'idempotency-key': key() });
  t.equal(blocked.status, 402, 'held credits cannot be spent');
  t.equal(blocked.body.error.details.available, 40);

  const captured = await call('POST', `/v1/holds/${hold.body.id}/capture`, { amount: 25 });
  t.equal(captured.status, 200);
  t.match(captured.body, { status: 'captured', capturedAmount: 25, available: 75, held: 0 });
  const balance = await call('GET', '/v1/accounts/acct_h/balance');
  t.match(balance.body, { available: 75, held: 0 });
  const sum = await ledgerSum(database, 'acct_h');
  t.same([Number(sum.available), Number(sum.held)], [75, 0], 'the ledger sums to the balance');

  const again = await call('POST', `/v1/holds/${hold.body.id}/capture`, { amount: 25 });
  t.equal(again.status, 409);
  t.equal(again.body.error.code, 'hold_not_active');
});

t.test('capture after release fails clearly; release gives everything back', async (t) => {
  const { call } = await funded(t, 100);
  const hold = await call('POST', '/v1/accounts/acct_h/holds', { amount: 30 }, { 'idempotency-key': key() });
  const released = await call('POST', `/v1/holds/${hold.body.id}/release`, {});
  t.match(released.body, { status: 'released', available: 100, held: 0 });
  const capture = await call('POST', `/v1/holds/${hold.body.id}/capture`, { amount: 10 });
  t.equal(capture.status, 409);
  t.equal(capture.body.error.code, 'hold_not_active');
  t.match(capture.body.error.message, /released/);
  t.equal((await call('POST', '/v1/holds/hold_nope/capture', { amount: 1 })).status, 404);
});

t.test('capturing more than held is a 400 and changes nothing', async (t) => {
  const { call } = await funded(t, 100);
  const hold = await call('POST', '/v1/accounts/acct_h/holds', { amount: 30 }, { 'idempotency-key': key() });
  const over = await call('POST', `/v1/holds/${hold.body.id}/capture`, { amount: 31 });
  t.equal(over.status, 400);
  t.equal(over.body.error.code, 'capture_exceeds_hold');
  t.match((await call('GET', '/v1/accounts/acct_h/balance')).body, { available: 70, held: 30 });
});

t.test("a capture's metadata keeps the client's keys beside Tally's captured and returned, and refuses those two names", async (t) => {
  const { call } = await funded(t, 100);
  const hold = await call('POST', '/v1/accounts/acct_h/holds', { amount: 30 }, { 'idempotency-key': key() });
  for (const name of ['captured', 'returned']) {
    const refused = await call('POST', `/v1/holds/${hold.body.id}/capture`, { amount: 10, metadata: { job: 'j1', [name]: 'yes' } });
    t.equal(refused.status, 400, `${name}: refused`);
    t.match(refused.body.error, { code: 'invalid_request', message: /metadata: captured and returned are the keys/ });
  }
  t.match((await call('GET', '/v1/accounts/acct_h/balance')).body, { available: 70, held: 30 }, 'nothing captured');
  t.equal((await call('POST', `/v1/holds/${hold.body.id}/capture`, { amount: 10, metadata: { job: 'j1' } })).status, 200);
  const [capture] = (await call('GET', '/v1/accounts/acct_h/ledger?limit=1')).body.data;
  t.same(capture.metadata, { job: 'j1', captured: 10, returned: 20 }, "the client's key and Tally's two");
});

t.test('a hold past its expiry no longer holds, and is released in the ledger', async (t) => {
  const { call, app, database } = await funded(t, 100);
  const hold = await call('POST', '/v1/accounts/acct_h/holds', { amount: 100, expiresInSeconds: 1 }, { 'idempotency-key': key() });
  t.match(hold.body, { available: 0, held: 100 });
  await new Promise((resolve) => setTimeout(resolve, 1100));
  t.match((await call('GET', '/v1/accounts/acct_h/balance')).body, { available: 100, held: 0 }, 'the balance frees it at once');
  const capture = await call('POST', `/v1/holds/${hold.body.id}/capture`, { amount: 10 });
  t.equal(capture.status, 409);
  t.equal(capture.body.error.code, 'hold_expired');
  const spend = await call('POST', '/v1/accounts/acct_h/spend', { amount: 100 }, { 'idempotency-key': key() });
  t.equal(spend.status, 200, 'the freed credits can be spent');
  const entries = (await call('GET', '/v1/accounts/acct_h/ledger')).body.data.map((e: { kind: string; reason: string }) => `${e.kind}:${e.reason}`);
  t.same(entries.slice(0, 3), ['spend:null', 'release:hold expired', 'hold:null']);
  t.equal(Number((await ledgerSum(database, 'acct_h')).available), 0);
  await app.ledger.drain();
});

t.test('hold replays with the same key return the same hold', async (t) => {
  const { call } = await funded(t, 100);
  const k = key();
  const [a, b] = await Promise.all([
    call('POST', '/v1/accounts/acct_h/holds', { amount: 10 }, { 'idempotency-key': k }),
    call('POST', '/v1/accounts/acct_h/holds', { amount: 10 }, { 'idempotency-key': k }),
  ]);
  t.equal(a.body.id, b.body.id);
  t.match((await call('GET', '/v1/accounts/acct_h/balance')).body, { available: 90, held: 10 });
});

t.test('a release needs no body, over real HTTP as through inject, like every other body-less action', async (t) => {
  const ctx = await build(t, { listen: true });
  await ctx.call('PUT', '/v1/accounts/acct_h', {});
  await ctx.call('POST', '/v1/accounts/acct_h/grants', { amount: 100 }, { 'idempotency-key': key() });
  const place = async () => (await ctx.call('POST', '/v1/accounts/acct_h/holds', { amount: 10 }, { 'idempotency-key': key() })).body.id;
  const injected = await ctx.call('POST', `/v1/holds/${await place()}/release`);
  t.equal(injected.status, 200, 'inject, no payload');
  t.match(injected.body, { status: 'released' });
  const overHttp = await fetch(`${ctx.url}/v1/holds/${await place()}/release`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  t.equal(overHttp.status, 200, 'a POST with no body and no content-type');
  t.match(await overHttp.json(), { status: 'released', available: 100, held: 0 });
});

t.test('a release sent again under its key replays its first answer, with {} or no body either time', async (t) => {
  const { call } = await funded(t, 100);
  for (const [first, second] of [[{}, undefined], [undefined, {}]]) {
    const hold = await call('POST', '/v1/accounts/acct_h/holds', { amount: 10 }, { 'idempotency-key': key() });
    const k = key('release');
    const released = await call('POST', `/v1/holds/${hold.body.id}/release`, first, { 'idempotency-key': k });
    t.equal(released.status, 200);
    const again = await call('POST', `/v1/holds/${hold.body.id}/release`, second, { 'idempotency-key': k });
    t.same({ status: again.status, body: again.body, replayed: again.headers['idempotent-replayed'] }, { status: 200, body: released.body, replayed: 'true' }, `${JSON.stringify(first)} then ${JSON.stringify(second)}: the same request`);
  }
  t.match((await call('GET', '/v1/accounts/acct_h/balance')).body, { available: 100, held: 0 });
});
