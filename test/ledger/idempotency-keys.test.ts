import t, { type Test } from 'tap';
import { build, eventually, key, ledgerSum, type TestApp } from '../helper.js';
import { HeldConnections } from '../../src/db/held-connections.js';
import { runLedgerBatch } from '../../src/domain/ledger/run-ledger-batch.js';
import { newId } from '../../src/lib/ids.js';

// An Idempotency-Key's first answer is the answer, whichever way a batch is run: decided on a kept
// account state, loaded, raced by another transaction writing the same key, or behind another
// request under that key in the same batch.

async function funded(t: Test, account: string, amount: number, env: Record<string, string> = {}): Promise<TestApp> {
  const ctx = await build(t, { env });
  await ctx.call('PUT', `/v1/accounts/${account}`, {});
  await ctx.call('POST', `/v1/accounts/${account}/grants`, { amount }, { 'idempotency-key': key() });
  return ctx;
}

/** Without the account cache: every batch loads. */
const LOADING = { LEDGER_CACHE_ACCOUNTS: '0' };

t.test('on a kept account: a retried spend or hold that the balance no longer covers replays its first answer; another request under its key is a 409', async (t) => {
  const ctx = await funded(t, 'acct_spent_out', 10);
  const decided = ctx.app.ledger.cacheStats().decided;
  const k = key('all');
  const first = await ctx.call('POST', '/v1/accounts/acct_spent_out/spend', { amount: 10 }, { 'idempotency-key': k });
  t.same({ status: first.status, available: first.body.available }, { status: 200, available: 0 }, 'the first spend takes every credit');
  t.ok(ctx.app.ledger.cacheStats().decided > decided, 'decided on the kept state');
  const again = await ctx.call('POST', '/v1/accounts/acct_spent_out/spend', { amount: 10 }, { 'idempotency-key': k });
  t.same({ status: again.status, body: again.body, replayed: again.headers['idempotent-replayed'] }, { status: 200, body: first.body, replayed: 'true' }, 'sent again: its first answer, not a 402');
  const other = await ctx.call('POST', '/v1/accounts/acct_spent_out/spend', { amount: 7 }, { 'idempotency-key': k });
  t.same({ status: other.status, code: other.body.error?.code }, { status: 409, code: 'idempotency_key_reused' }, 'another spend under the key: a 409, not a 402');

  await ctx.call('POST', '/v1/accounts/acct_spent_out/grants', { amount: 5 }, { 'idempotency-key': key() });
  const hk = key('hold');
  const held = await ctx.call('POST', '/v1/accounts/acct_spent_out/holds', { amount: 5 }, { 'idempotency-key': hk });
  t.equal(held.status, 201, 'a hold of every credit');
  const heldAgain = await ctx.call('POST', '/v1/accounts/acct_spent_out/holds', { amount: 5 }, { 'idempotency-key': hk });
  t.same({ status: heldAgain.status, body: heldAgain.body }, { status: 201, body: held.body }, 'sent again: its first answer');

  const pack = await ctx.call('POST', '/v1/packs', { name: 'Keyed', credits: 10, unitAmount: 500, currency: 'usd' }, { 'idempotency-key': 'pack-key-then-spend' });
  t.equal(pack.status, 201, 'a pack created under a key');
  const spendUnderPackKey = await ctx.call('POST', '/v1/accounts/acct_spent_out/spend', { amount: 1 }, { 'idempotency-key': 'pack-key-then-spend' });
  t.same({ status: spendUnderPackKey.status, code: spendUnderPackKey.body.error?.code }, { status: 409, code: 'idempotency_key_reused' }, "a spend the balance does not cover, under a pack's key: a 409");
  t.same(await ledgerSum(ctx.database, 'acct_spent_out'), { available: 0, held: 5, entries: 4 }, 'two grants, one spend, one hold');
});

t.test('a key written by another transaction while a loaded batch waits for it: a 409 (or its replay), not a 500', async (t) => {
  const ctx = await funded(t, 'acct_raced', 10, LOADING);
  const k = key('raced');
  // Another process's batch (another account) or a keyed create has written the key, not yet committed.
  const other = await ctx.database.pool.connect();
  t.teardown(() => other.release());
  await other.query('BEGIN');
  await other.query(`INSERT INTO idempotency_records (key, operation, fingerprint, result) VALUES ($1, 'spend', 'another account', '{}')`, [k]);
  const pending = ctx.call('POST', '/v1/accounts/acct_raced/spend', { amount: 1 }, { 'idempotency-key': k });
  // The spend's batch did not see the key, and its insert now waits for the other transaction.
  await eventually(async () => (await ctx.database.pool.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`)).rowCount);
  await other.query('COMMIT');
  const answer = await pending;
  t.same({ status: answer.status, code: answer.body.error?.code }, { status: 409, code: 'idempotency_key_reused' }, 'a 409');
  t.same(await ledgerSum(ctx.database, 'acct_raced'), { available: 10, held: 0, entries: 1 }, 'nothing spent');
});

t.test('in one batch, a request behind another under the same key is answered from its record, or follows the first when the key is new', async (t) => {
  const ctx = await funded(t, 'acct_behind', 10, LOADING);
  const spend = (amount: number) => ({ command: { type: 'spend' as const, accountId: 'acct_behind', amount }, idempotency: { key: 'behind', operation: 'spend', fingerprint: `amount ${amount}` } });
  const connections = new HeldConnections(ctx.database.pool);
  const [first] = await runLedgerBatch(connections, [spend(1)], newId);
  t.ok(first.ok, 'the key stored with a spend of 1');
  const [changed, retried] = await runLedgerBatch(connections, [spend(2), spend(1)], newId);
  t.match(changed, { ok: false, error: { code: 'idempotency_key_reused' } }, 'a spend of 2 under it: refused');
  t.same(retried, { ...first, replayed: true }, 'the spend of 1 behind it: its first answer');
  t.same(await ledgerSum(ctx.database, 'acct_behind'), { available: 9, held: 0, entries: 2 }, 'spent once');

  // A new key, first used twice in one batch: the second request follows the first, if it is the same request.
  const fresh = (amount: number) => ({ ...spend(amount), idempotency: { ...spend(amount).idempotency, key: 'fresh' } });
  const [leader, differs, same] = await runLedgerBatch(connections, [fresh(3), fresh(4), fresh(3)], newId);
  t.match(leader, { ok: true, value: { amount: 3, available: 6 } }, 'the first spends');
  t.match(differs, { ok: false, error: { code: 'idempotency_key_reused' } }, 'another spend behind it under its new key: refused');
  t.same(same, { ...leader, replayed: true }, 'the same spend behind it: its answer');
  t.same(await ledgerSum(ctx.database, 'acct_behind'), { available: 6, held: 0, entries: 3 }, 'spent once more');
});

t.test('a key is one operation: a hold, grant or spend sent under the key of another with the very same body is a 409', async (t) => {
  for (const env of [{}, LOADING]) {
    const ctx = await funded(t, 'acct_one_op', 10, env);
    const k = key('op');
    const spent = await ctx.call('POST', '/v1/accounts/acct_one_op/spend', { amount: 5 }, { 'idempotency-key': k });
    t.equal(spent.status, 200);
    for (const path of ['holds', 'grants']) {
      const other = await ctx.call('POST', `/v1/accounts/acct_one_op/${path}`, { amount: 5 }, { 'idempotency-key': k });
      t.same({ status: other.status, code: other.body.error?.code }, { status: 409, code: 'idempotency_key_reused' }, `${path} under a spend's key: a 409, not the spend's answer`);
    }
    const gk = key('op');
    t.equal((await ctx.call('POST', '/v1/accounts/acct_one_op/grants', { amount: 5 }, { 'idempotency-key': gk })).status, 201);
    const spendUnderGrantKey = await ctx.call('POST', '/v1/accounts/acct_one_op/spend', { amount: 5 }, { 'idempotency-key': gk });
    t.same({ status: spendUnderGrantKey.status, code: spendUnderGrantKey.body.error?.code }, { status: 409, code: 'idempotency_key_reused' }, "a spend under a grant's key: a 409");
    t.same(await ledgerSum(ctx.database, 'acct_one_op'), { available: 10, held: 0, entries: 3 }, `${env === LOADING ? 'loading' : 'kept'}: one grant, one spend, one grant`);
  }
});

t.test('a key names its path too: the same spend or capture on another account or hold under it is a 409', async (t) => {
  const ctx = await funded(t, 'acct_path_a', 10);
  await ctx.call('PUT', '/v1/accounts/acct_path_b', {});
  await ctx.call('POST', '/v1/accounts/acct_path_b/grants', { amount: 10 }, { 'idempotency-key': key() });
  const k = key('path');
  t.equal((await ctx.call('POST', '/v1/accounts/acct_path_a/spend', { amount: 4 }, { 'idempotency-key': k })).status, 200);
  const otherAccount = await ctx.call('POST', '/v1/accounts/acct_path_b/spend', { amount: 4 }, { 'idempotency-key': k });
  t.same({ status: otherAccount.status, code: otherAccount.body.error?.code }, { status: 409, code: 'idempotency_key_reused' }, "another account's spend: a 409, not the first account's answer");

  const holds = await Promise.all([1, 2].map(async () => (await ctx.call('POST', '/v1/accounts/acct_path_b/holds', { amount: 3 }, { 'idempotency-key': key() })).body.id));
  const ck = key('capture');
  t.equal((await ctx.call('POST', `/v1/holds/${holds[0]}/capture`, { amount: 2 }, { 'idempotency-key': ck })).status, 200);
  const otherHold = await ctx.call('POST', `/v1/holds/${holds[1]}/capture`, { amount: 2 }, { 'idempotency-key': ck });
  t.same({ status: otherHold.status, code: otherHold.body.error?.code }, { status: 409, code: 'idempotency_key_reused' }, "another hold's capture: a 409");
  t.same((await ctx.call('GET', `/v1/holds/${holds[1]}`)).body.status, 'active', 'and that hold is left as it was');
  t.same([await ledgerSum(ctx.database, 'acct_path_a'), await ledgerSum(ctx.database, 'acct_path_b')], [
    { available: 6, held: 0, entries: 2 },
    { available: 5, held: 3, entries: 4 },
  ], 'one spend on the first account; two holds and one capture on the second');
});

t.test('a retry whose metadata keys come in another order is the same request: its first answer, not a 409', async (t) => {
  const ctx = await funded(t, 'acct_key_order', 10);
  const k = key('order');
  const first = await ctx.call('POST', '/v1/accounts/acct_key_order/spend', { amount: 3, metadata: { job: 'j1', user: 'u1' } }, { 'idempotency-key': k });
  t.equal(first.status, 200);
  // JSON objects are unordered: a client that rebuilds the body from a map may send its keys in another order.
  const again = await ctx.call('POST', '/v1/accounts/acct_key_order/spend', { metadata: { user: 'u1', job: 'j1' }, amount: 3 }, { 'idempotency-key': k });
  t.same({ status: again.status, body: again.body, replayed: again.headers['idempotent-replayed'] }, { status: 200, body: first.body, replayed: 'true' }, 'replayed, not a 409');
  const other = await ctx.call('POST', '/v1/accounts/acct_key_order/spend', { amount: 3, metadata: { user: 'u1', job: 'j2' } }, { 'idempotency-key': k });
  t.equal(other.body.error?.code, 'idempotency_key_reused', 'other metadata under the key is still a 409');
  t.equal(Number((await ledgerSum(ctx.database, 'acct_key_order')).available), 7, 'spent once');
});

t.test('a grant sent again after its expiresAt has passed replays its first answer; a new grant expiring in the past is a 400 that grants nothing', async (t) => {
  const ctx = await funded(t, 'acct_lapsed_grant', 10);
  const k = key('lapsing');
  const body = { amount: 5, expiresAt: new Date(Date.now() + 2000).toISOString() };
  const first = await ctx.call('POST', '/v1/accounts/acct_lapsed_grant/grants', body, { 'idempotency-key': k });
  t.equal(first.status, 201, 'granted');
  await new Promise((resolve) => setTimeout(resolve, Date.parse(body.expiresAt) - Date.now() + 50));
  const again = await ctx.call('POST', '/v1/accounts/acct_lapsed_grant/grants', body, { 'idempotency-key': k });
  t.same({ status: again.status, body: again.body, replayed: again.headers['idempotent-replayed'] }, { status: 201, body: first.body, replayed: 'true' }, 'its first answer, not a 400 saying the grant cannot be made');
  const other = await ctx.call('POST', '/v1/accounts/acct_lapsed_grant/grants', { ...body, amount: 6 }, { 'idempotency-key': k });
  t.same({ status: other.status, code: other.body.error?.code }, { status: 409, code: 'idempotency_key_reused' }, 'another grant under the key: a 409');
  const late = await ctx.call('POST', '/v1/accounts/acct_lapsed_grant/grants', body, { 'idempotency-key': key('late') });
  t.same({ status: late.status, code: late.body.error?.code, field: late.body.error?.details?.field }, { status: 400, code: 'invalid_request', field: 'body.expiresAt' }, 'a new grant expiring in the past: a 400');
  const { rows } = await ctx.database.pool.query("SELECT count(*)::int AS n FROM ledger_entries WHERE account_id = 'acct_lapsed_grant' AND kind = 'grant'");
  t.equal(rows[0].n, 2, 'two grants written, once each');
  t.match(await ledgerSum(ctx.database, 'acct_lapsed_grant'), { available: 10, held: 0 }, 'the lapsed one counts for nothing');
});
