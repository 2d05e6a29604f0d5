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
    [[-70, grantId, { stripeRefundId: 're_1', revocationKey: 'refund:re_1', requested: 100, revoked: 70, owed: 0 }]],
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

t.test('credits held from the grant are owed: released later, they are taken', async (t) => {
  const ctx = await build(t);
  const grantId = await funded(ctx, 'acct_h', 100);
  const { value: held } = await ctx.app.ledger.hold({ accountId: 'acct_h', amount: 50, expiresInSeconds: 600 }, { key: key(), operation: 'hold', fingerprint: 'x' });
  t.match((await ctx.app.ledger.revoke({ accountId: 'acct_h', grantId, amount: 100, revocationKey: 'refund:re_h', reason: 'refunded' })).value, { revoked: 50, owed: 50, available: 0 });
  t.match((await ctx.app.ledger.release(held.hold.id, null)).value, { available: 0, held: 0 });
  t.equal(await available(ctx, 'acct_h'), 0);
  t.match((await adjustments(ctx, 'acct_h')).map((r) => r.metadata), [{ revoked: 50, owed: 50 }, { collected: 50, collectedFor: [{ revocationKey: 'refund:re_h', credits: 50 }] }]);
  const sum = await ledgerSum(ctx.database, 'acct_h');
  t.equal(Number(sum.available), 0, 'the ledger agrees');
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

const restore = (ctx: TestApp, accountId: string, grantId: string, revocationKey: string) =>
  ctx.app.ledger.restore({ accountId, grantId, revocationKey, reason: 'refund failed', metadata: { stripeRefundId: 're_x' } });

t.test('a restoration gives back what the revocation took, not what it asked for, once', async (t) => {
  const ctx = await build(t);
  const grantId = await funded(ctx, 'acct_back', 100);
  await ctx.app.ledger.spend({ accountId: 'acct_back', amount: 30 }, { key: key(), operation: 'spend', fingerprint: 'x' });
  await ctx.app.ledger.revoke({ accountId: 'acct_back', grantId, amount: 100, revocationKey: 'refund:re_f:g', reason: 'refunded' });
  t.equal(await available(ctx, 'acct_back'), 0);

  const first = await restore(ctx, 'acct_back', grantId, 'refund:re_f:g');
  t.match(first.value, { type: 'restore', grantId, restored: 70, available: 70 }, 'the 70 taken come back; the 30 spent stay spent');
  t.ok(first.value.entryId);
  const again = await restore(ctx, 'acct_back', grantId, 'refund:re_f:g');
  t.match(again.value, { entryId: null, restored: 0, available: 70 }, 'the same restoration again writes nothing');
  t.same(
    (await adjustments(ctx, 'acct_back')).map((r) => [r.amount, r.metadata.revocationKey, r.metadata.restored ?? r.metadata.revoked]),
    [[-70, 'refund:re_f:g', 70], [70, 'restore:refund:re_f:g', 70]],
    'two adjustment entries: the revocation and its restoration',
  );
  t.equal(Number((await ledgerSum(ctx.database, 'acct_back')).available), 70, 'the ledger sums to the balance');
  const { rows } = await ctx.database.pool.query('SELECT remaining FROM grants WHERE id = $1', [grantId]);
  t.equal(Number(rows[0].remaining), 70, 'the grant has them again, though the load had left it out with nothing left');

  t.match((await ctx.app.ledger.revoke({ accountId: 'acct_back', grantId, amount: 100, revocationKey: 'refund:re_f:g', reason: 'refunded' })).value, { entryId: null, revoked: 0 }, 'the revocation again takes nothing');
  t.equal(await available(ctx, 'acct_back'), 70);
});

t.test('a restoration that comes first is recorded, and the revocation that comes after takes nothing', async (t) => {
  const ctx = await build(t);
  const grantId = await funded(ctx, 'acct_early', 100);
  t.match((await restore(ctx, 'acct_early', grantId, 'refund:re_e:g')).value, { restored: 0, available: 100 });
  t.match((await ctx.app.ledger.revoke({ accountId: 'acct_early', grantId, amount: 100, revocationKey: 'refund:re_e:g', reason: 'refunded' })).value, { entryId: null, revoked: 0, available: 100 });
  t.same((await adjustments(ctx, 'acct_early')).map((r) => [r.amount, r.metadata.revocationKey]), [[0, 'restore:refund:re_e:g']]);
  t.equal(await available(ctx, 'acct_early'), 100);
});

t.test('credits given back to a grant that has expired meanwhile are not given', async (t) => {
  const ctx = await build(t);
  await ctx.call('PUT', '/v1/accounts/acct_exp', {});
  const { value } = await ctx.app.ledger.grant({ accountId: 'acct_exp', amount: 100, source: 'stripe_checkout', expiresAt: new Date(Date.now() + 1500) });
  const grantId = value.grant.id;
  await ctx.app.ledger.revoke({ accountId: 'acct_exp', grantId, amount: 40, revocationKey: 'refund:re_x:g', reason: 'refunded' });
  await new Promise((resolve) => setTimeout(resolve, 1600));
  t.match((await restore(ctx, 'acct_exp', grantId, 'refund:re_x:g')).value, { restored: 0, available: 0 }, 'they would have expired with the grant');
  const sum = await ledgerSum(ctx.database, 'acct_exp');
  t.equal(Number(sum.available), 0, 'the ledger sums to the balance, the expiry of the other 60 included');
});

t.test('a revocation and its restoration from two Tally processes at once: whatever the order, the credits end where they were', async (t) => {
  const one = await build(t);
  const two = await build(t, { databaseUrl: one.databaseUrl });
  const grantIds = await Promise.all(Array.from({ length: 10 }, (_, i) => funded(one, `acct_race_${i}`, 100)));
  await Promise.all(
    grantIds.flatMap((grantId, i) => {
      const revocationKey = `refund:re_race_${i}:${grantId}`;
      const accountId = `acct_race_${i}`;
      const [first, second] = i % 2 ? [one, two] : [two, one];
      return [
        first.app.ledger.revoke({ accountId, grantId, amount: 60, revocationKey, reason: 'refunded' }),
        restore(second, accountId, grantId, revocationKey),
      ];
    }),
  );
  for (let i = 0; i < 10; i++) {
    t.equal(await available(one, `acct_race_${i}`), 100, `account ${i}: all 100 there`);
    t.equal(Number((await ledgerSum(one.database, `acct_race_${i}`)).available), 100);
  }
});

t.test('a revocation and a release of held credits from two Tally processes at once: whatever the order, the credits are taken', async (t) => {
  const one = await build(t);
  const two = await build(t, { databaseUrl: one.databaseUrl });
  const accounts = Array.from({ length: 10 }, (_, i) => `acct_held_${i}`);
  const grantIds = await Promise.all(accounts.map((accountId) => funded(one, accountId, 100)));
  // Placed by the process that releases: it keeps the accounts' states, which the revocations make stale.
  const holds = await Promise.all(accounts.map((accountId) => two.app.ledger.hold({ accountId, amount: 60, expiresInSeconds: 600 }, { key: key(), operation: 'hold', fingerprint: 'x' })));
  await Promise.all(
    accounts.flatMap((accountId, i) => [
      one.app.ledger.revoke({ accountId, grantId: grantIds[i], amount: 100, revocationKey: `refund:re_held_${i}:${grantIds[i]}`, reason: 'refunded' }),
      two.app.ledger.release(holds[i].value.hold.id, null),
    ]),
  );
  for (const accountId of accounts) {
    t.equal(await available(one, accountId), 0, `${accountId}: nothing left`);
    const sum = await ledgerSum(one.database, accountId);
    t.same([Number(sum.available), Number(sum.held)], [0, 0], `${accountId}: the ledger agrees`);
    t.equal((await adjustments(one, accountId)).reduce((total, row) => total + Number(row.amount), 0), -100, `${accountId}: 100 taken, at once or as they came back`);
  }
  const { rows } = await one.database.pool.query('SELECT debts FROM grants WHERE id = ANY($1)', [grantIds]);
  t.same(rows.map((row) => row.debts.filter((debt: { owed: number }) => debt.owed > 0)), grantIds.map(() => []), 'nothing left owed');
});
