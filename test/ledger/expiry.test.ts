import t from 'tap';
import pg from 'pg';
import { createTestDatabase } from '../database.js';
import { build, eventually, key, ledgerSum, serverUrl } from '../helper.js';
import { SWEEP_LIMIT } from '../../src/domain/ledger/expiry-sweeper.js';

t.test('a grant stops counting at expiresAt; the sweeper writes the expiry entry', async (t) => {
  const { call, app, database } = await build(t);
  await call('PUT', '/v1/accounts/acct_e', {});
  const expiresAt = new Date(Date.now() + 2500).toISOString();
  await call('POST', '/v1/accounts/acct_e/grants', { amount: 40, expiresAt }, { 'idempotency-key': key() });
  await call('POST', '/v1/accounts/acct_e/grants', { amount: 10 }, { 'idempotency-key': key() });
  t.equal((await call('GET', '/v1/accounts/acct_e/balance')).body.available, 50);
  await new Promise((resolve) => setTimeout(resolve, 2600));
  const balance = (await call('GET', '/v1/accounts/acct_e/balance')).body;
  t.equal(balance.available, 10, 'expired credits no longer count, before any entry is written');
  t.equal(balance.grants.length, 1);
  const refused = await call('POST', '/v1/accounts/acct_e/spend', { amount: 11 }, { 'idempotency-key': key() });
  t.equal(refused.status, 402);
  t.equal(refused.body.error.details.available, 10);

  await app.ledger.settle('acct_e');
  const entries = (await call('GET', '/v1/accounts/acct_e/ledger')).body.data;
  t.match(entries[0], { kind: 'expiry', amount: -40, availableAfter: 10 });
  t.equal(Number((await ledgerSum(database, 'acct_e')).available), 10, 'the ledger sums to the balance');
  await app.ledger.settle('acct_e');
  t.equal((await call('GET', '/v1/accounts/acct_e/ledger')).body.data.length, 3, 'settling twice writes nothing more');
});

t.test('spending draws the grant that expires first, never-expiring grants last', async (t) => {
  const { call } = await build(t);
  await call('PUT', '/v1/accounts/acct_o', {});
  const day = 86_400_000;
  const forever = await call('POST', '/v1/accounts/acct_o/grants', { amount: 10, source: 'forever' }, { 'idempotency-key': key() });
  const late = await call('POST', '/v1/accounts/acct_o/grants', { amount: 10, expiresAt: new Date(Date.now() + 2 * day).toISOString() }, { 'idempotency-key': key() });
  const soon = await call('POST', '/v1/accounts/acct_o/grants', { amount: 10, expiresAt: new Date(Date.now() + day).toISOString() }, { 'idempotency-key': key() });
  const spend = await call('POST', '/v1/accounts/acct_o/spend', { amount: 15 }, { 'idempotency-key': key() });
  t.equal(spend.body.available, 15);
  const remaining = Object.fromEntries((await call('GET', '/v1/accounts/acct_o/balance')).body.grants.map((g: { id: string; remaining: number }) => [g.id, g.remaining]));
  t.same(remaining, { [late.body.id]: 5, [forever.body.id]: 10 }, 'the soonest grant is used up, then the next soonest');
  t.notOk(remaining[soon.body.id]);
  const ledger = (await call('GET', '/v1/accounts/acct_o/ledger?limit=1')).body;
  t.same(ledger.data[0].allocations, [
    { grantId: soon.body.id, amount: 10 },
    { grantId: late.body.id, amount: 5 },
  ], 'the spend names the grants it drew from');
});

t.test('a used-up grant that expires under an active hold writes no expiry until the hold gives its credits back', async (t) => {
  const { call, database } = await build(t);
  await call('PUT', '/v1/accounts/acct_uh', {});
  await call('POST', '/v1/accounts/acct_uh/grants', { amount: 100, expiresAt: new Date(Date.now() + 2500).toISOString() }, { 'idempotency-key': key() });
  await call('POST', '/v1/accounts/acct_uh/grants', { amount: 50 }, { 'idempotency-key': key() });
  const hold = await call('POST', '/v1/accounts/acct_uh/holds', { amount: 100, expiresInSeconds: 600 }, { 'idempotency-key': key() });
  t.match(hold.body, { available: 50, held: 100 }, 'the hold takes the expiring grant');
  await new Promise((resolve) => setTimeout(resolve, 2600));
  // Each batch on the account loads the expired grant (the hold drew on it) and settles the account.
  for (let i = 0; i < 2; i++) t.equal((await call('POST', '/v1/accounts/acct_uh/spend', { amount: 10 }, { 'idempotency-key': key() })).body.available, 40 - 10 * i);
  const kinds = async () => (await call('GET', '/v1/accounts/acct_uh/ledger')).body.data.map((e: { kind: string; amount: number }) => `${e.kind} ${e.amount}`).reverse();
  t.same(await kinds(), ['grant 100', 'grant 50', 'hold -100', 'spend -10', 'spend -10'], 'nothing left of the grant to expire: no entry');
  await call('POST', `/v1/holds/${hold.body.id}/release`, {});
  t.same((await kinds()).slice(5), ['release 100', 'expiry -100'], 'released, the credits go back to the grant and lapse at once');
  t.same(await ledgerSum(database, 'acct_uh'), { available: 30, held: 0, entries: 7 });
});

t.test('among grants that expire at the same time, or never, the oldest is drawn first', async (t) => {
  const { call } = await build(t);
  await call('PUT', '/v1/accounts/acct_old', {});
  const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
  const grant = async (body: object) => (await call('POST', '/v1/accounts/acct_old/grants', { amount: 10, ...body }, { 'idempotency-key': key() })).body.id;
  const [older, newer, olderForever, newerForever] = [await grant({ expiresAt }), await grant({ expiresAt }), await grant({}), await grant({})];
  const spend = async (amount: number) => (await call('POST', '/v1/accounts/acct_old/spend', { amount }, { 'idempotency-key': key() })).body;
  t.equal((await spend(15)).available, 25);
  t.equal((await spend(10)).available, 15);
  const ledger = (await call('GET', '/v1/accounts/acct_old/ledger?limit=2')).body.data;
  t.same(ledger.map((e: { allocations: unknown }) => e.allocations), [
    [{ grantId: newer, amount: 5 }, { grantId: olderForever, amount: 5 }],
    [{ grantId: older, amount: 10 }, { grantId: newer, amount: 5 }],
  ], 'the older of two grants expiring together first; then the older never-expiring one');
  const remaining = Object.fromEntries((await call('GET', '/v1/accounts/acct_old/balance')).body.grants.map((g: { id: string; remaining: number }) => [g.id, g.remaining]));
  t.same(remaining, { [olderForever]: 5, [newerForever]: 10 });
});

t.test('ledger pages newest first with a cursor', async (t) => {
  const { call } = await build(t);
  await call('PUT', '/v1/accounts/acct_p', {});
  for (let i = 0; i < 5; i++) await call('POST', '/v1/accounts/acct_p/grants', { amount: i + 1 }, { 'idempotency-key': key() });
  const first = (await call('GET', '/v1/accounts/acct_p/ledger?limit=2')).body;
  t.same(first.data.map((e: { amount: number }) => e.amount), [5, 4]);
  const second = (await call('GET', `/v1/accounts/acct_p/ledger?limit=2&cursor=${first.nextCursor}`)).body;
  t.same(second.data.map((e: { amount: number }) => e.amount), [3, 2]);
  const third = (await call('GET', `/v1/accounts/acct_p/ledger?limit=2&cursor=${second.nextCursor}`)).body;
  t.same(third.data.map((e: { amount: number }) => e.amount), [1]);
  t.equal(third.nextCursor, null);
  t.same(third.data[0].availableAfter, 1);

  // A cursor this account's pages never gave would read as the end of its ledger, or skip entries.
  await call('PUT', '/v1/accounts/acct_other', {});
  const othersEntry = (await call('POST', '/v1/accounts/acct_other/grants', { amount: 1 }, { 'idempotency-key': key() })).body.entryId;
  for (const cursor of [othersEntry, '0']) {
    const refused = await call('GET', `/v1/accounts/acct_p/ledger?cursor=${cursor}`);
    t.same({ status: refused.status, code: refused.body.error?.code, field: refused.body.error?.details?.field }, { status: 400, code: 'invalid_request', field: 'querystring.cursor' }, `cursor ${cursor}: a 400`);
  }
});

t.test('ledger entries cannot be updated or deleted', async (t) => {
  const { call, database } = await build(t);
  await call('PUT', '/v1/accounts/acct_ao', {});
  await call('POST', '/v1/accounts/acct_ao/grants', { amount: 5 }, { 'idempotency-key': key() });
  await t.rejects(database.pool.query('UPDATE ledger_entries SET amount = 500'), /append-only/);
  await t.rejects(database.pool.query('DELETE FROM ledger_entries'), /append-only/);
});

t.test('an expiresAt past the year 9999 in UTC is a 400; the last moment of 9999 counts as a date like any other', async (t) => {
  const { call, database } = await build(t, { env: { LEDGER_CACHE_ACCOUNTS: '0' } });
  await call('PUT', '/v1/accounts/acct_y9999', {});
  // 23:59:59 on 9999-12-31 in New York is 04:59:59 on 10000-01-01 in UTC, which PostgreSQL keeps and writes back with a five-digit year.
  const refused = await call('POST', '/v1/accounts/acct_y9999/grants', { amount: 100, expiresAt: '9999-12-31T23:59:59-05:00' }, { 'idempotency-key': key() });
  t.same({ status: refused.status, code: refused.body.error?.code, field: refused.body.error?.details?.field }, { status: 400, code: 'invalid_request', field: 'body.expiresAt' }, 'a 400 naming the field');
  const latest = await call('POST', '/v1/accounts/acct_y9999/grants', { amount: 100, expiresAt: '9999-12-31T23:59:59.999Z' }, { 'idempotency-key': key() });
  t.same({ status: latest.status, expiresAt: latest.body.expiresAt }, { status: 201, expiresAt: '9999-12-31T23:59:59.999Z' }, 'the latest allowed');
  t.equal((await call('GET', '/v1/accounts/acct_y9999/balance')).body.available, 100, 'the balance counts it');
  t.equal((await call('POST', '/v1/accounts/acct_y9999/spend', { amount: 1 }, { 'idempotency-key': key() })).status, 200, 'a spend draws on it');
  t.same(await ledgerSum(database, 'acct_y9999'), { available: 99, held: 0, entries: 2 }, 'no expiry written: the grant and the spend');
});

t.test('a sweep of a thousand accounts puts few commands ahead of a spend at a time, and settles them all', async (t) => {
  const { app, database } = await build(t, { env: { SWEEP_INTERVAL_MS: '100' } });
  // A thousand accounts, each with a hold that expires in a moment (as after a worker fleet died).
  await database.pool.query(`
    INSERT INTO accounts (id) SELECT 'swept-' || n FROM generate_series(1, 1000) n;
    INSERT INTO grants (id, account_id, source, amount, remaining) SELECT 'swept-g' || n, 'swept-' || n, 'test', 100, 90 FROM generate_series(1, 1000) n;
    INSERT INTO holds (id, account_id, amount, status, allocations, expires_at)
      SELECT 'swept-h' || n, 'swept-' || n, 10, 'active', jsonb_build_array(jsonb_build_object('grantId', 'swept-g' || n, 'amount', 10)), now() + interval '1 second'
      FROM generate_series(1, 1000) n;
    INSERT INTO ledger_entries (account_id, kind, amount, held_change, available_after, held_after)
      SELECT 'swept-' || n, k.kind::ledger_entry_kind, k.amount, k.held, k.after, k.held FROM generate_series(1, 1000) n,
        (VALUES (1, 'grant', 100, 0, 100), (2, 'hold', -10, 10, 90)) AS k(o, kind, amount, held, after) ORDER BY n, k.o;`);
  let mostWaiting = 0;
  const watch = setInterval(() => (mostWaiting = Math.max(mostWaiting, app.ledger.batchStats().waiting)), 1);
  t.teardown(() => clearInterval(watch));
  await eventually(async () => (await database.pool.query("SELECT 1 FROM holds WHERE id LIKE 'swept-%' AND status = 'active'")).rowCount === 0, 30_000);
  clearInterval(watch);
  const { rows } = await database.pool.query("SELECT count(*)::int AS n FROM ledger_entries WHERE account_id LIKE 'swept-%' AND kind = 'release'");
  t.equal(rows[0].n, 1000, 'every hold released once');
  t.ok(mostWaiting <= 64, `at most 64 commands waited for a batch at any time (${mostWaiting}): a spend that comes meanwhile waits for one small batch, not the whole sweep`);
});

t.test('grants that lapsed while Tally was stopped, more than one pass takes, are all written off; so are those that lapse after', async (t) => {
  const databaseUrl = await createTestDatabase(await serverUrl(t));
  const backlog = SWEEP_LIMIT * 2 + 200;
  // Written before Tally starts: grants that expired a day ago, nobody having touched their accounts since.
  const setup = new pg.Client({ connectionString: databaseUrl });
  await setup.connect();
  await setup.query(`
    INSERT INTO accounts (id) SELECT 'late-' || n FROM generate_series(1, ${backlog}) n;
    INSERT INTO grants (id, account_id, source, amount, remaining, expires_at)
      SELECT 'late-g' || n, 'late-' || n, 'test', 50, 50, now() - interval '1 day' - n * interval '1 second' FROM generate_series(1, ${backlog}) n;
    INSERT INTO ledger_entries (account_id, kind, amount, held_change, available_after, held_after)
      SELECT 'late-' || n, 'grant', 50, 0, 50, 0 FROM generate_series(1, ${backlog}) n;`);
  await setup.end();
  const { call, database } = await build(t, { databaseUrl, env: { SWEEP_INTERVAL_MS: '100' } });
  const expiries = async (like: string) =>
    (await database.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM ledger_entries WHERE account_id LIKE $1 AND kind = 'expiry'", [like])).rows[0].n;
  await eventually(async () => (await expiries('late-%')) === backlog, 30_000);
  t.equal((await database.pool.query("SELECT 1 FROM grants WHERE id LIKE 'late-g%' AND remaining > 0")).rowCount, 0, `all ${backlog} written off, over several passes`);
  t.same(await ledgerSum(database, 'late-7'), { available: 0, held: 0, entries: 2 }, 'the grant and its expiry');

  // Later passes look only at what expired since: a grant that lapses now is among it.
  await call('PUT', '/v1/accounts/acct_after', {});
  await call('POST', '/v1/accounts/acct_after/grants', { amount: 30, expiresAt: new Date(Date.now() + 1500).toISOString() }, { 'idempotency-key': key() });
  await eventually(async () => (await expiries('acct_after')) === 1, 10_000);
  t.same(await ledgerSum(database, 'acct_after'), { available: 0, held: 0, entries: 2 }, 'written off by the sweeper, no command having touched the account');
});

t.test("credits a release gives back to a grant that expired under the hold, after the sweeper's mark passed its expiry, are written off by the release itself", async (t) => {
  const a = await build(t, { env: { SWEEP_INTERVAL_MS: '100' } });
  const b = await build(t, { databaseUrl: a.databaseUrl });
  await a.call('PUT', '/v1/accounts/acct_back', {});
  await a.call('POST', '/v1/accounts/acct_back/grants', { amount: 30, expiresAt: new Date(Date.now() + 3_600_000).toISOString() }, { 'idempotency-key': key() });
  const hold = await a.call('POST', '/v1/accounts/acct_back/holds', { amount: 30, expiresInSeconds: 3600 }, { 'idempotency-key': key() });
  // As if the grant had expired an hour ago, under the hold (nothing left on it for the sweeper to see),
  // and the sweeper's later passes look only at grants that expired in the last minutes.
  await a.database.pool.query("UPDATE grants SET expires_at = now() - interval '1 hour' WHERE account_id = 'acct_back'");
  await new Promise((resolve) => setTimeout(resolve, 500));
  // Released by a process that did not keep the account (the expiry was moved behind the back of A's kept state).
  const released = await b.call('POST', `/v1/holds/${hold.body.id}/release`, {});
  t.equal(released.status, 200);
  t.equal(released.body.available, 0, 'the credits given back had expired');
  await new Promise((resolve) => setTimeout(resolve, 500));
  const kinds = (await a.call('GET', '/v1/accounts/acct_back/ledger')).body.data.map((e: { kind: string; amount: number }) => [e.kind, e.amount]);
  t.same(kinds, [['expiry', -30], ['release', 30], ['hold', -30], ['grant', 30]], 'the release, and the expiry of what it gave back, in its own transaction');
  t.same(await ledgerSum(a.database, 'acct_back'), { available: '0', held: '0', entries: 4 });
  t.equal((await a.database.pool.query("SELECT 1 FROM grants WHERE account_id = 'acct_back' AND remaining > 0")).rowCount, 0, 'no expired grant keeps credits');
});
