import t from 'tap';
import { build, key } from '../helper.js';

async function rowCounts(pool: import('pg').Pool): Promise<Record<string, number>> {
  const { rows } = await pool.query(`SELECT
    (SELECT count(*) FROM accounts)::int AS accounts, (SELECT count(*) FROM grants)::int AS grants,
    (SELECT count(*) FROM holds)::int AS holds, (SELECT count(*) FROM ledger_entries)::int AS entries,
    (SELECT count(*) FROM idempotency_records)::int AS idempotency`);
  return rows[0];
}

t.test('bad input gets a 4xx with the error shape and writes nothing', async (t) => {
  const { call, database } = await build(t);
  await call('PUT', '/v1/accounts/acct_v', {});
  await call('POST', '/v1/accounts/acct_v/grants', { amount: 100 }, { 'idempotency-key': key() });
  const before = await rowCounts(database.pool);
  const spend = (body: unknown, headers: Record<string, string> = { 'idempotency-key': key() }) => call('POST', '/v1/accounts/acct_v/spend', body, headers);

  const cases: Array<[string, Promise<{ status: number; body: any }>, number, string]> = [
    ['malformed JSON', spend('{"amount": 1'), 400, 'invalid_json'],
    ['amount as a string', spend({ amount: '5' }), 400, 'invalid_request'],
    ['negative amount', spend({ amount: -5 }), 400, 'invalid_request'],
    ['zero amount', spend({ amount: 0 }), 400, 'invalid_request'],
    ['fractional amount', spend({ amount: 1.5 }), 400, 'invalid_request'],
    ['huge amount', spend({ amount: 1e12 + 1 }), 400, 'invalid_request'],
    ['amount beyond 2^53', spend('{"amount": 123456789012345678901234567890}'), 400, 'invalid_request'],
    ['unknown field', spend({ amount: 1, extra: true }), 400, 'invalid_request'],
    ['missing amount', spend({}), 400, 'invalid_request'],
    ['no idempotency key', spend({ amount: 1 }, {}), 400, 'invalid_request'],
    ['metadata too deep', spend({ amount: 1, metadata: { a: { b: 1 } } }), 400, 'invalid_request'],
    ['a 2 MB body', spend(JSON.stringify({ amount: 1, reason: 'x'.repeat(2 * 1024 * 1024) })), 413, 'body_too_large'],
    ['a bad accountId', call('POST', '/v1/accounts/bad%20id!/spend', { amount: 1 }, { 'idempotency-key': key() }), 400, 'invalid_request'],
    ['an accountId of 129 characters', call('PUT', `/v1/accounts/${'a'.repeat(129)}`, {}), 400, 'invalid_request'],
    ['a bad email', call('PUT', '/v1/accounts/acct_new', { email: 'not-an-email' }), 400, 'invalid_request'],
    ['grant expiring in the past', call('POST', '/v1/accounts/acct_v/grants', { amount: 1, expiresAt: '2020-01-01T00:00:00Z' }, { 'idempotency-key': key() }), 400, 'invalid_request'],
    ['hold expiring in 8 days', call('POST', '/v1/accounts/acct_v/holds', { amount: 1, expiresInSeconds: 8 * 86400 }, { 'idempotency-key': key() }), 400, 'invalid_request'],
    ['ledger limit 0', call('GET', '/v1/accounts/acct_v/ledger?limit=0'), 400, 'invalid_request'],
    ['unknown route', call('GET', '/v1/nothing'), 404, 'route_not_found'],
    ['unknown account', call('GET', '/v1/accounts/nobody/balance'), 404, 'account_not_found'],
  ];
  for (const [name, reply, status, code] of cases) {
    const { status: got, body } = await reply;
    t.equal(got, status, `${name}: status`);
    t.equal(body?.error?.code, code, `${name}: code`);
    t.type(body?.error?.message, 'string', `${name}: message`);
  }
  const wrongType = await spend({ amount: '5' });
  t.match(wrongType.body.error.details.issues[0], { field: 'body.amount' }, 'the error names the field');
  t.same(await rowCounts(database.pool), before, 'no row was written');
});
