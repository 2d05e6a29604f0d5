import t from 'tap';
import type { Pool } from 'pg';
import { BalanceReader } from '../../src/domain/balance/balance-reader.js';
import { build, key, ledgerSum } from '../helper.js';

t.test('200 concurrent spends of 1 against 100 credits: exactly 100 succeed', async (t) => {
  const { call, database, serviceKey } = await build(t);
  await call('PUT', '/v1/accounts/acct_race', {});
  t.equal((await call('POST', '/v1/accounts/acct_race/grants', { amount: 100 }, { 'idempotency-key': key() })).status, 201);

  const replies = await Promise.all(
    Array.from({ length: 200 }, () => call('POST', '/v1/accounts/acct_race/spend', { amount: 1 }, { 'idempotency-key': key(), key: serviceKey })),
  );
  const statuses = replies.map((r) => r.status);
  t.equal(statuses.filter((s) => s === 200).length, 100, '100 spends succeed');
  t.equal(statuses.filter((s) => s === 402).length, 100, '100 spends get 402');
  const refused = replies.find((r) => r.status === 402)!;
  t.equal(refused.body.error.code, 'insufficient_credits');
  t.same(refused.body.error.details, { available: 0, required: 1 });
  const availableAfter = replies.filter((r) => r.status === 200).map((r) => r.body.available).sort((a, b) => a - b);
  t.same(availableAfter, Array.from({ length: 100 }, (_, i) => i), 'each success saw a distinct balance');

  const balance = await call('GET', '/v1/accounts/acct_race/balance');
  t.equal(balance.body.available, 0);
  const sum = await ledgerSum(database, 'acct_race');
  t.equal(Number(sum.available), 0, 'the ledger sums to the balance');
  t.equal(sum.entries, 101, 'one grant and 100 spends; the refusals wrote nothing');
  const claims = await database.pool.query('SELECT count(*)::int AS n FROM idempotency_records');
  t.equal(claims.rows[0].n, 101, 'only the successful requests keep their idempotency key');
});

t.test('the same spend sent 20 times at once with one key debits once, with the same reply', async (t) => {
  const { call, database } = await build(t);
  await call('PUT', '/v1/accounts/acct_dup', {});
  await call('POST', '/v1/accounts/acct_dup/grants', { amount: 50 }, { 'idempotency-key': key() });
  const k = key('dup');
  const replies = await Promise.all(Array.from({ length: 20 }, () => call('POST', '/v1/accounts/acct_dup/spend', { amount: 7, reason: 'x' }, { 'idempotency-key': k })));
  t.ok(replies.every((r) => r.status === 200), 'all 200');
  t.equal(new Set(replies.map((r) => JSON.stringify(r.body))).size, 1, 'every reply is the same');
  t.equal(replies[0].body.available, 43);
  t.equal(replies.filter((r) => r.headers['idempotent-replayed'] === 'true').length, 19, '19 are replays');
  t.equal((await call('GET', '/v1/accounts/acct_dup/balance')).body.available, 43);
  t.equal((await ledgerSum(database, 'acct_dup')).entries, 2);

  const later = await call('POST', '/v1/accounts/acct_dup/spend', { amount: 7, reason: 'x' }, { 'idempotency-key': k });
  t.same(later.body, replies[0].body, 'a later replay returns the first result');
});

t.test('a key reused with a different body is a 409 and writes nothing', async (t) => {
  const { call, database } = await build(t);
  await call('PUT', '/v1/accounts/acct_reuse', {});
  await call('POST', '/v1/accounts/acct_reuse/grants', { amount: 50 }, { 'idempotency-key': key() });
  const k = key('reuse');
  t.equal((await call('POST', '/v1/accounts/acct_reuse/spend', { amount: 5 }, { 'idempotency-key': k })).status, 200);
  const reused = await call('POST', '/v1/accounts/acct_reuse/spend', { amount: 6 }, { 'idempotency-key': k });
  t.equal(reused.status, 409);
  t.equal(reused.body.error.code, 'idempotency_key_reused');
  const together = await Promise.all([
    call('POST', '/v1/accounts/acct_reuse/spend', { amount: 1 }, { 'idempotency-key': 'same-batch' }),
    call('POST', '/v1/accounts/acct_reuse/spend', { amount: 2 }, { 'idempotency-key': 'same-batch' }),
  ]);
  t.same(together.map((r) => r.status).sort(), [200, 409], 'two different bodies sent together: one wins, the other is refused');
  t.equal((await ledgerSum(database, 'acct_reuse')).entries, 3);
});

t.test('a refused spend can be retried with the same key once credits arrive', async (t) => {
  const { call } = await build(t);
  await call('PUT', '/v1/accounts/acct_retry', {});
  const k = key('retry');
  t.equal((await call('POST', '/v1/accounts/acct_retry/spend', { amount: 5 }, { 'idempotency-key': k })).status, 402);
  await call('POST', '/v1/accounts/acct_retry/grants', { amount: 10 }, { 'idempotency-key': key() });
  const retried = await call('POST', '/v1/accounts/acct_retry/spend', { amount: 5 }, { 'idempotency-key': k });
  t.equal(retried.status, 200);
  t.equal(retried.body.available, 5);
});

t.test('spends on unknown accounts are 404 and do not disturb their batch neighbours', async (t) => {
  const { call } = await build(t);
  await call('PUT', '/v1/accounts/acct_ok', {});
  await call('POST', '/v1/accounts/acct_ok/grants', { amount: 10 }, { 'idempotency-key': key() });
  const [missing, ok] = await Promise.all([
    call('POST', '/v1/accounts/nobody/spend', { amount: 1 }, { 'idempotency-key': key() }),
    call('POST', '/v1/accounts/acct_ok/spend', { amount: 1 }, { 'idempotency-key': key() }),
  ]);
  t.equal(missing.status, 404);
  t.equal(missing.body.error.code, 'account_not_found');
  t.equal(ok.status, 200);
});

t.test('a balance read sent while another read of the account is in flight does not take its older answer', async (t) => {
  const { call, database } = await build(t);
  await call('PUT', '/v1/accounts/acct_fresh', {});
  await call('POST', '/v1/accounts/acct_fresh/grants', { amount: 1000 }, { 'idempotency-key': key() });
  // The real database, its answers held back until the test lets them go: the first read has its
  // answer from PostgreSQL (its snapshot taken), and stays in flight while the spend is acknowledged.
  let answered!: () => void;
  const snapshotTaken = new Promise<void>((resolve) => (answered = resolve));
  let letGo!: () => void;
  const heldBack = new Promise<void>((resolve) => (letGo = resolve));
  const slow = { query: async (...args: unknown[]) => {
    const result = await (database.pool.query as (...a: unknown[]) => Promise<unknown>)(...args);
    answered();
    await heldBack;
    return result;
  } } as unknown as Pool;
  const reader = new BalanceReader(slow);
  const first = reader.read('acct_fresh');
  await snapshotTaken;
  const spend = await call('POST', '/v1/accounts/acct_fresh/spend', { amount: 1 }, { 'idempotency-key': key() });
  t.equal(spend.status, 200, 'acknowledged while the first read is in flight');
  const second = reader.read('acct_fresh');
  letGo();
  t.equal((await first).available, 1000, 'the first read began before the spend');
  t.equal((await second).available, 999, 'the second, sent after the acknowledgement, sees it');
});
