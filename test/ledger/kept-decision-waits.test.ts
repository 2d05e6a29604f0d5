import t from 'tap';
import pg from 'pg';
import { build, key, ledgerSum } from '../helper.js';
import { EXPIRY_MARGIN_MS } from '../../src/domain/ledger/account-cache.js';

// A batch decided on kept states is decided before its one round trip takes the accounts' locks. With
// DATABASE_TIMEOUT_MS above EXPIRY_MARGIN_MS, that wait can outlast the margin the decision relied on.
t.test('a spend decided on a kept state, then kept waiting on the account lock past an expiry, does not spend the expired credits', async (t) => {
  const ctx = await build(t, { env: { DATABASE_TIMEOUT_MS: '120000' } });
  const spend = (amount: number) => ctx.call('POST', '/v1/accounts/acct_slow/spend', { amount }, { 'idempotency-key': key() });
  await ctx.call('PUT', '/v1/accounts/acct_slow', {});
  const expiresAt = new Date(Date.now() + EXPIRY_MARGIN_MS + 3000);
  await ctx.call('POST', '/v1/accounts/acct_slow/grants', { amount: 50, expiresAt: expiresAt.toISOString() }, { 'idempotency-key': key() });
  await ctx.call('POST', '/v1/accounts/acct_slow/grants', { amount: 10 }, { 'idempotency-key': key() });
  t.equal((await spend(1)).body.available, 59, 'the account is kept');

  // Another transaction holds the account's lock until past the grant's expiry.
  const other = new pg.Client({ connectionString: ctx.databaseUrl });
  await other.connect();
  t.teardown(() => other.end());
  await other.query("BEGIN; SELECT 1 FROM accounts WHERE id = 'acct_slow' FOR UPDATE");
  const decided = ctx.app.ledger.cacheStats().decided;
  const late = spend(20);
  await new Promise((resolve) => setTimeout(resolve, expiresAt.getTime() - Date.now() + 1500));
  await other.query('COMMIT');
  const reply = await late;
  t.equal(reply.status, 402, 'the 49 credits left of the grant had expired by the time the spend could be written');
  t.same(reply.body.error?.details, { available: 10, required: 20 });
  t.equal(ctx.app.ledger.cacheStats().decided, decided, 'decided again on a load');
  const balance = (await ctx.call('GET', '/v1/accounts/acct_slow/balance')).body;
  t.equal(balance.available, 10, 'the balance');
  await ctx.app.ledger.settle('acct_slow');
  t.equal(Number((await ledgerSum(ctx.database, 'acct_slow')).available), 10, 'the ledger sums to it');
});
