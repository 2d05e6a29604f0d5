import t, { type Test } from 'tap';
import { build, type TestApp } from '../helper.js';
import { moneyKept } from './money-kept.js';
import { HeldConnections } from '../../src/db/held-connections.js';
import { AccountCache } from '../../src/domain/ledger/account-cache.js';
import { runLedgerBatch, type LedgerRequest } from '../../src/domain/ledger/run-ledger-batch.js';
import type { LedgerCommand } from '../../src/domain/ledger/types.js';
import { newId } from '../../src/lib/ids.js';

// A grant, a hold on it and a refund of it that arrive together share one ledger transaction
// (run-ledger-batch.ts): HTTP cannot line them up in one batch, so the batch is run directly, as the
// Ledger's batcher runs it, with an account cache as the app keeps one. The grant's id is drawn here,
// so that the refund in the same batch can name it.

const ACCOUNT = 'acct_batch';
const GRANT = 'grt_in_batch';
const ids = (prefix: string) => (prefix === 'grt' ? GRANT : newId(prefix));
const revocationKey = `refund:re_batch:${GRANT}`;

const grant: LedgerCommand = { type: 'grant', accountId: ACCOUNT, amount: 500, source: 'stripe_checkout', sourceKey: 'checkout:cs_batch' };
const hold: LedgerCommand = { type: 'hold', accountId: ACCOUNT, amount: 300, expiresInSeconds: 600 };
const revoke: LedgerCommand = { type: 'revoke', accountId: ACCOUNT, grantId: GRANT, amount: 500, revocationKey, reason: 'payment refunded' };
const restore: LedgerCommand = { type: 'restore', accountId: ACCOUNT, grantId: GRANT, revocationKey, reason: 'refund failed' };

async function setUp(t: Test) {
  const ctx = await build(t);
  await ctx.call('PUT', `/v1/accounts/${ACCOUNT}`, {});
  const cache = new AccountCache(100);
  const connections = new HeldConnections(ctx.database.pool);
  const run = async (...commands: LedgerCommand[]) => {
    const outcomes = await runLedgerBatch(connections, commands.map((command): LedgerRequest => ({ command })), ids, cache);
    for (const outcome of outcomes) if (!outcome.ok) throw outcome.error;
    return outcomes.map((outcome) => (outcome.ok ? outcome.value : undefined)) as any[];
  };
  return { ctx, cache, run };
}

async function debts(ctx: TestApp) {
  const { rows } = await ctx.database.pool.query('SELECT remaining, debts FROM grants WHERE id = $1', [GRANT]);
  return { remaining: Number(rows[0].remaining), debts: rows[0].debts };
}

async function adjustments(ctx: TestApp) {
  const { rows } = await ctx.database.pool.query("SELECT amount, metadata FROM ledger_entries WHERE account_id = $1 AND kind = 'adjustment' ORDER BY id", [ACCOUNT]);
  return rows.map((row) => ({ amount: Number(row.amount), ...row.metadata }));
}

t.test('a grant, a hold on it and its refund in one batch: the free part taken, the held part owed, and collected when released', async (t) => {
  const { ctx, cache, run } = await setUp(t);
  const [granted, held, revoked] = await run(grant, hold, revoke);
  t.same([granted.available, held.available, held.held], [500, 200, 300]);
  t.same([revoked.revoked, revoked.owed, revoked.available], [200, 300, 0]);
  t.same(await debts(ctx), { remaining: 0, debts: [{ revocationKey, owed: 300, collected: 0 }] }, 'the new grant is written with its debt');
  t.same(await moneyKept(t, ctx, ACCOUNT), { available: 0, held: 300 });

  // The release is decided on the state the batch kept, debts and all.
  const before = cache.counts.decided;
  const [released] = await run({ type: 'release', holdId: held.hold.id });
  t.same([released.available, released.held], [0, 0], 'released: the 300 owed are taken');
  t.equal(cache.counts.decided, before + 1, 'decided on the kept state');
  t.same(await debts(ctx), { remaining: 0, debts: [{ revocationKey, owed: 0, collected: 300 }] });
  t.same(await adjustments(ctx), [
    { amount: -200, revocationKey, requested: 500, revoked: 200, owed: 300 },
    { amount: -300, collected: 300, collectedFor: [{ revocationKey, credits: 300 }] },
  ]);
  t.same(await moneyKept(t, ctx, ACCOUNT), { available: 0, held: 0 });
});

t.test('a refund and the release of the hold it found, in one batch: owed and collected in the same batch', async (t) => {
  const { ctx, run } = await setUp(t);
  const [, held] = await run(grant, hold);
  const [revoked, released] = await run(revoke, { type: 'release', holdId: held.hold.id });
  t.same([revoked.revoked, revoked.owed, released.available, released.held], [200, 300, 0, 0]);
  t.same(await debts(ctx), { remaining: 0, debts: [{ revocationKey, owed: 0, collected: 300 }] });
  t.same((await adjustments(ctx)).map((e) => e.amount), [-200, -300]);
  t.same(await moneyKept(t, ctx, ACCOUNT), { available: 0, held: 0 });
});

t.test('a grant, a hold on it, its refund and the refund failing, all in one batch: the debt is cancelled, the credits stay', async (t) => {
  const { ctx, run } = await setUp(t);
  const [, held, revoked, restored] = await run(grant, hold, revoke, restore);
  t.same([revoked.revoked, revoked.owed], [200, 300]);
  t.same([restored.restored, restored.available], [200, 200]);
  t.same(await debts(ctx), { remaining: 200, debts: [] });
  t.same(await adjustments(ctx), [
    { amount: -200, revocationKey, requested: 500, revoked: 200, owed: 300 },
    { amount: 200, revocationKey: `restore:${revocationKey}`, restores: revocationKey, restored: 200, cancelled: 300 },
  ]);
  t.same(await moneyKept(t, ctx, ACCOUNT), { available: 200, held: 300 });
  await run({ type: 'release', holdId: held.hold.id });
  t.same(await moneyKept(t, ctx, ACCOUNT), { available: 500, held: 0 }, 'released: all 500 back, nothing owed');
});
