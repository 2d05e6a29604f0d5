import t from 'tap';
import { build, key } from '../helper.js';

// Each row moves at most 10^12 credits, but an account's grants add up: past 2^53 - 1 in all, the
// sums Tally makes in JavaScript (the balance, each entry's availableAfter) are no longer exact.

t.test('no account holds more credits than JavaScript counts exactly: a grant past 2^53 - 1 in all is a 409, and the ledger still sums to the balance', async (t) => {
  const { call, database } = await build(t);
  await call('PUT', '/v1/accounts/acct_max', {});
  const grant = (amount: number) => call('POST', '/v1/accounts/acct_max/grants', { amount }, { 'idempotency-key': key() });
  const full = 9007; // 9007 × 10^12 ≤ 2^53 - 1 < 9008 × 10^12
  for (let done = 0; done < full; done += 500) {
    const replies = await Promise.all(Array.from({ length: Math.min(500, full - done) }, () => grant(1e12)));
    t.ok(replies.every((r) => r.status === 201), `grants ${done}…`);
  }
  const headroom = Number.MAX_SAFE_INTEGER - full * 1e12;
  t.equal((await grant(headroom)).status, 201, 'up to 2^53 - 1 in all');
  const over = await grant(2);
  t.same({ status: over.status, code: over.body.error?.code }, { status: 409, code: 'balance_too_large' }, 'more is refused');
  const balance = (await call('GET', '/v1/accounts/acct_max/balance')).body;
  // As text: a number past 2^53 read into JavaScript would be rounded as the balance was.
  const { rows } = await database.pool.query("SELECT sum(amount)::text AS sum FROM ledger_entries WHERE account_id = 'acct_max'");
  t.equal(String(balance.available), rows[0].sum, 'the ledger sums to the balance, exactly');
  const spend = await call('POST', '/v1/accounts/acct_max/spend', { amount: 1 }, { 'idempotency-key': key() });
  t.equal(spend.body.available, Number.MAX_SAFE_INTEGER - 1, 'a spend counts every credit');
});
