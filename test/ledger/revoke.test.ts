import t from 'tap';
import { build, key, ledgerSum, type TestApp } from '../helper.js';

async function funded(ctx: TestApp, accountId: string, amount: number) {
  await ctx.call('PUT', `/v1/accounts/${accountId}`, {});
  const { value } = await ctx.app.ledger.grant({ accountId, amount, source: 'stripe_checkout', sourceKey: `checkout:${key('cs')}` });
  return value.grant.id;
}

async function adjustments(ctx: TestApp, accountId: string) {
  const { rows } = await ctx.database.pool.query(
    "SELECT amount, grant_id, metadata FROM ledger_entries WHERE account_id = $1 AND kind = 'adjustment' ORDER BY id",
    [accountId],
  );
  return rows;
}

const available = async (ctx: TestApp, accountId: string) => (await ctx.call('GET', `/v1/accounts/${accountId}/balance`)).body.available;

t.test('a revocation takes what is left of the grant, up to the amount, once per key', async (t) => {
  const ctx = await build(t);
  const grantId = await funded(ctx, 'acct_r', 100);
  await ctx.app.ledger.spend({ accountId: 'acct_r', amount: 30 }, { key: key(), operation: 'spend', fingerprint: 'x' });

  const first = await ctx.app.ledger.revoke({ accountId: 'acct_r', grantId, amount: 100, revocationKey: 'refund:re_1', reason: 'refunded', metadata: { stripeRefundId: 're_1' } });
  t.match(first.value, { type: 'revoke', grantId, requested: 100, revoked: 70, available: 0 }, 'the 30 spent stay spent; the 70 left are taken');
  t.ok(first.value.entryId, 'an entry was written');
  t.equal(first.replayed, false);
  t.equal(await available(ctx, 'acct_r'), 0);

  const again = await ctx.app.ledger.revoke({ accountId: 'acct_r', grantId, amount: 100, revocationKey: 'refund:re_1', reason: 'refunded' });
  t.match(again.value, { entryId: null, revoked: 0, requested: 100 }, 'the same key again writes nothing');
  t.same(
    (await adjustments(ctx, 'acct_r')).map((r) => [r.amount, r.grant_id, r.metadata]),
    [[-70, grantId, { stripeRefundId: 're_1', revocationKey: 'refund:re_1', requested: 100, revoked: 70 }]],
    'one adjustment entry, which says what was asked and what was taken',
  );
  t.equal(Number((await ledgerSum(ctx.database, 'acct_r')).available), 0, 'the ledger sums to the balance');
});

t.test('a partial revocation, and one that finds nothing left, which the ledger still records', async (t) => {
  const ctx = await build(t);
  const grantId = await funded(ctx, 'acct_p', 100);
  t.match((await ctx.app.ledger.revoke({ accountId: 'acct_p', grantId, amount: 40, revocationKey: 'refund:re_a', reason: 'refunded' })).value, { revoked: 40, available: 60 });
  await ctx.app.ledger.spend({ accountId: 'acct_p', amount: 60 }, { key: key(), operation: 'spend', fingerprint: 'x' });
  t.match((await ctx.app.ledger.revoke({ accountId: 'acct_p', grantId, amount: 60, revocationKey: 'refund:re_b', reason: 'refunded' })).value, { revoked: 0, available: 0 });
  t.same((await adjustments(ctx, 'acct_p')).map((r) => r.amount), [-40, 0], 'the second refund is in the ledger, for nothing');
  t.equal(Number((await ledgerSum(ctx.database, 'acct_p')).available), 0);
});

t.test('credits held from the grant are not taken; released later, they stay the account\'s', async (t) => {
  const ctx = await build(t);
  const grantId = await funded(ctx, 'acct_h', 100);
  const { value: held } = await ctx.app.ledger.hold({ accountId: 'acct_h', amount: 50, expiresInSeconds: 600 }, { key: key(), operation: 'hold', fingerprint: 'x' });
  t.match((await ctx.app.ledger.revoke({ accountId: 'acct_h', grantId, amount: 100, revocationKey: 'refund:re_h', reason: 'refunded' })).value, { revoked: 50, available: 0 });
  await ctx.app.ledger.release(held.hold.id, null);
  t.equal(await available(ctx, 'acct_h'), 50);
  const sum = await ledgerSum(ctx.database, 'acct_h');
  t.equal(Number(sum.available), 50, 'the ledger agrees');
  t.equal(Number(sum.held), 0);
});

t.test('the same revocation from two Tally processes at once, many times: one entry, taken once', async (t) => {
  const one = await build(t);
  const two = await build(t, { databaseUrl: one.databaseUrl });
  const grantId = await funded(one, 'acct_twice', 100);
  const revoke = (ctx: TestApp) => ctx.app.ledger.revoke({ accountId: 'acct_twice', grantId, amount: 25, revocationKey: 'dispute:dp_1', reason: 'dispute lost' });
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => revoke(i % 2 ? one : two)));
  t.equal(results.filter((r) => r.value.entryId !== null).length, 1, 'one of them wrote the entry');
  t.equal(results.reduce((sum, r) => sum + r.value.revoked, 0), 25, 'and only it took credits');
  t.same((await adjustments(one, 'acct_twice')).map((r) => r.amount), [-25]);
  t.equal(await available(one, 'acct_twice'), 75);
});
