import t from 'tap';
import { build, key, ledgerSum } from '../helper.js';

// Pages of the ledger and of holds read while writes land between them, and one key sent at once for
// two accounts: what the other tests check with nothing happening meanwhile.

t.test('ledger and hold pages stay whole while writes land between pages (the cursor hold itself captured meanwhile)', async (t) => {
  const { call, app } = await build(t);
  await call('PUT', '/v1/accounts/acct_pg', {});
  await call('POST', '/v1/accounts/acct_pg/grants', { amount: 100_000 }, { 'idempotency-key': key() });
  for (let i = 0; i < 30; i++) await call('POST', '/v1/accounts/acct_pg/spend', { amount: 1 }, { 'idempotency-key': key() });
  const before: string[] = (await call('GET', '/v1/accounts/acct_pg/ledger?limit=200')).body.data.map((e: { id: string }) => e.id);

  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { status: number; body: { data: Array<{ id: string }>; nextCursor: string | null } } = await call('GET', `/v1/accounts/acct_pg/ledger?limit=7${cursor ? `&cursor=${cursor}` : ''}`);
    t.equal(page.status, 200);
    seen.push(...page.body.data.map((e) => e.id));
    cursor = page.body.nextCursor;
    await Promise.all(Array.from({ length: 5 }, () => call('POST', '/v1/accounts/acct_pg/spend', { amount: 1 }, { 'idempotency-key': key() })));
  } while (cursor);
  t.same(seen, before, 'every entry there when paging began, once, newest first; none written since');

  const placed: string[] = [];
  for (let i = 0; i < 12; i++) placed.push((await call('POST', '/v1/accounts/acct_pg/holds', { amount: 1 }, { 'idempotency-key': key() })).body.id);
  const listed: string[] = [];
  cursor = null;
  do {
    const page: { status: number; body: { data: Array<{ id: string }>; nextCursor: string | null } } = await call('GET', `/v1/accounts/acct_pg/holds?limit=4${cursor ? `&cursor=${cursor}` : ''}`);
    t.equal(page.status, 200);
    listed.push(...page.body.data.map((h) => h.id));
    cursor = page.body.nextCursor;
    // The hold the cursor names is captured, and a new one placed, before the next page is read.
    const last = page.body.data.at(-1);
    if (last) t.equal((await call('POST', `/v1/holds/${last.id}/capture`, { amount: 1 })).status, 200);
    await call('POST', '/v1/accounts/acct_pg/holds', { amount: 1 }, { 'idempotency-key': key() });
  } while (cursor && listed.length < 100);
  t.same(listed.slice(0, placed.length), placed, 'the holds active when paging began, once each, oldest first');
  t.equal(new Set(listed).size, listed.length, 'no hold listed twice');
  await app.ledger.drain();
});

t.test('one key sent at once for spends on two accounts: one is made, the other is a 409, one entry written', async (t) => {
  const { call, database, app } = await build(t);
  for (const account of ['acct_k1', 'acct_k2']) {
    await call('PUT', `/v1/accounts/${account}`, {});
    await call('POST', `/v1/accounts/${account}/grants`, { amount: 100 }, { 'idempotency-key': key() });
  }
  const k = key('two-accounts');
  const answers = await Promise.all(['acct_k1', 'acct_k2'].map((account) => call('POST', `/v1/accounts/${account}/spend`, { amount: 5 }, { 'idempotency-key': k })));
  t.same(answers.map((a) => a.status).sort(), [200, 409]);
  t.equal(answers.find((a) => a.status === 409)?.body.error.code, 'idempotency_key_reused');
  const sums = [await ledgerSum(database, 'acct_k1'), await ledgerSum(database, 'acct_k2')];
  t.same(sums.map((s) => Number(s.available)).sort((a, b) => a - b), [95, 100], 'one spend of 5 in all');
  await app.ledger.drain();
});
