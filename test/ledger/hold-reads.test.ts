import t from 'tap';
import { build, key, type TestContext } from '../helper.js';

async function funded(t: TestContext, amount: number) {
  const ctx = await build(t);
  await ctx.call('PUT', '/v1/accounts/acct_r', {});
  await ctx.call('POST', '/v1/accounts/acct_r/grants', { amount }, { 'idempotency-key': key() });
  return ctx;
}

type Hold = { id: string; amount: number; status: string };

t.test('a hold reads as placed, captured or released; the list holds what the balance counts as held', async (t) => {
  const { call } = await funded(t, 100);
  const place = async (amount: number) =>
    (await call('POST', '/v1/accounts/acct_r/holds', { amount, reason: `job ${amount}`, metadata: { job: amount } }, { 'idempotency-key': key() })).body as Hold;
  const [a, b, c] = [await place(10), await place(20), await place(30)];

  const read = await call('GET', `/v1/holds/${a.id}`);
  t.equal(read.status, 200);
  t.same(
    { ...read.body, expiresAt: undefined, createdAt: undefined },
    { id: a.id, accountId: 'acct_r', amount: 10, status: 'active', capturedAmount: null, expiresAt: undefined, reason: 'job 10', metadata: { job: 10 }, createdAt: undefined, settledAt: null },
  );
  const listed = async () => ((await call('GET', '/v1/accounts/acct_r/holds')).body.data as Hold[]).map((h) => [h.id, h.amount]);
  t.same(await listed(), [[a.id, 10], [b.id, 20], [c.id, 30]], 'oldest first');
  t.match((await call('GET', '/v1/accounts/acct_r/balance')).body, { available: 40, held: 60 });

  await call('POST', `/v1/holds/${a.id}/capture`, { amount: 4 });
  await call('POST', `/v1/holds/${b.id}/release`, {});
  t.match((await call('GET', `/v1/holds/${a.id}`)).body, { status: 'captured', capturedAmount: 4, settledAt: String });
  t.match((await call('GET', `/v1/holds/${b.id}`)).body, { status: 'released', capturedAmount: null, settledAt: String });
  t.same(await listed(), [[c.id, 30]], 'settled holds leave the list');
  t.match((await call('GET', '/v1/accounts/acct_r/balance')).body, { available: 66, held: 30 }, 'and the balance agrees');
});

t.test('the list pages with a cursor', async (t) => {
  const { call } = await funded(t, 100);
  const placed: string[] = [];
  for (let i = 1; i <= 5; i++) placed.push((await call('POST', '/v1/accounts/acct_r/holds', { amount: i }, { 'idempotency-key': key() })).body.id);
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: { status: number; body: { data: Hold[]; nextCursor: string | null } } = await call('GET', `/v1/accounts/acct_r/holds?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
    t.equal(page.status, 200);
    seen.push(...page.body.data.map((h) => h.id));
    cursor = page.body.nextCursor;
    pages++;
  } while (cursor);
  t.equal(pages, 3);
  t.same(seen, placed, 'every hold once, in the order placed');
  const exactlyFull = await call('GET', `/v1/accounts/acct_r/holds?limit=2&cursor=${placed[2]}`);
  t.same({ ids: exactlyFull.body.data.map((h: Hold) => h.id), nextCursor: exactlyFull.body.nextCursor }, { ids: placed.slice(3), nextCursor: null }, 'a page that ends with the last hold says there is no next page');
});

t.test('a hold past its time reads as expired at once, before and after its release entry is written', async (t) => {
  const { call } = await funded(t, 100);
  const hold = (await call('POST', '/v1/accounts/acct_r/holds', { amount: 50, expiresInSeconds: 2 }, { 'idempotency-key': key() })).body as Hold;
  t.match((await call('GET', `/v1/holds/${hold.id}`)).body, { status: 'active' });
  await new Promise((resolve) => setTimeout(resolve, 2100));
  t.match((await call('GET', `/v1/holds/${hold.id}`)).body, { status: 'expired', settledAt: null }, 'expired, its release not yet written');
  t.same((await call('GET', '/v1/accounts/acct_r/holds')).body.data, [], 'and no longer listed');
  t.equal((await call('POST', '/v1/accounts/acct_r/spend', { amount: 1 }, { 'idempotency-key': key() })).status, 200); // writes the release
  t.match((await call('GET', `/v1/holds/${hold.id}`)).body, { status: 'expired', settledAt: String });
});

t.test('unknown holds and accounts are 404s; a bad page size is a 400', async (t) => {
  const { call } = await funded(t, 100);
  const hold = await call('GET', '/v1/holds/hold_nope');
  t.equal(hold.status, 404);
  t.equal(hold.body.error.code, 'hold_not_found');
  const account = await call('GET', '/v1/accounts/acct_nope/holds');
  t.equal(account.status, 404);
  t.equal(account.body.error.code, 'account_not_found');
  for (const limit of ['0', '201', 'x']) t.equal((await call('GET', `/v1/accounts/acct_r/holds?limit=${limit}`)).status, 400, `limit=${limit}`);
  await call('PUT', '/v1/accounts/acct_other', {});
  await call('POST', '/v1/accounts/acct_other/grants', { amount: 10 }, { 'idempotency-key': key() });
  const othersHold = (await call('POST', '/v1/accounts/acct_other/holds', { amount: 1 }, { 'idempotency-key': key() })).body.id;
  // An unknown cursor is refused rather than read as the end of the list.
  for (const cursor of ['hold_nope', othersHold]) {
    const stranger = await call('GET', `/v1/accounts/acct_r/holds?cursor=${cursor}`);
    t.equal(stranger.status, 400, `cursor ${cursor}: status`);
    t.match(stranger.body.error, { code: 'invalid_request', details: { field: 'querystring.cursor' } }, `cursor ${cursor}: the field`);
  }
});

t.test('a page\'s last hold, settled since, still leads to the next page', async (t) => {
  const { call } = await funded(t, 100);
  const placed: string[] = [];
  for (let i = 1; i <= 3; i++) placed.push((await call('POST', '/v1/accounts/acct_r/holds', { amount: i }, { 'idempotency-key': key() })).body.id);
  const first = await call('GET', '/v1/accounts/acct_r/holds?limit=1');
  t.same(first.body.nextCursor, placed[0]);
  t.equal((await call('POST', `/v1/holds/${placed[0]}/capture`, { amount: 1 })).status, 200);
  const next = await call('GET', `/v1/accounts/acct_r/holds?limit=1&cursor=${placed[0]}`);
  t.equal(next.status, 200);
  t.same(next.body.data.map((h: Hold) => h.id), [placed[1]]);
});

t.test('placing, capturing and releasing a hold answer the hold as a read does, metadata included', async (t) => {
  const ctx = await funded(t, 100);
  const { call } = ctx;
  const without = ({ entryId, available, held, ...hold }: Record<string, unknown>) => hold;
  const placeKey = key();
  const place = (amount: number) => call('POST', '/v1/accounts/acct_r/holds', { amount, metadata: { job: amount } }, { 'idempotency-key': placeKey + amount });
  const [a, b] = [await place(10), await place(20)];
  t.equal(a.status, 201);
  t.same(without(a.body), (await call('GET', `/v1/holds/${a.body.id}`)).body, 'placed');
  const captured = await call('POST', `/v1/holds/${a.body.id}/capture`, { amount: 4, metadata: { capture: true } });
  t.same(without(captured.body), (await call('GET', `/v1/holds/${a.body.id}`)).body, 'captured: the hold\'s own metadata, not the capture\'s');
  const released = await call('POST', `/v1/holds/${b.body.id}/release`, {});
  t.same(without(released.body), (await call('GET', `/v1/holds/${b.body.id}`)).body, 'released');
  const replay = await place(10);
  t.same(replay.body, a.body, 'a replay answers the same');

  // A key used before answers carried metadata replays the hold's metadata too (its stored result has none).
  await ctx.database.pool.query(`UPDATE idempotency_records SET result = result #- '{hold,metadata}' WHERE key = $1`, [placeKey + 20]);
  t.same((await place(20)).body.metadata, { job: 20 }, 'a replay of a result kept without metadata');
});

t.test('the list shows settled holds by their status, each status paged oldest first; active by default', async (t) => {
  const { call } = await funded(t, 100);
  const place = async (amount: number, expiresInSeconds?: number) => (await call('POST', '/v1/accounts/acct_r/holds', { amount, expiresInSeconds }, { 'idempotency-key': key() })).body.id as string;
  const [captured1, released1, captured2, active, lapsed, captured3] = [await place(1), await place(2), await place(3), await place(4), await place(5, 1), await place(6)];
  for (const id of [captured1, captured2, captured3]) await call('POST', `/v1/holds/${id}/capture`, { amount: 1 });
  await call('POST', `/v1/holds/${released1}/release`, {});
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const ids = async (query: string) => {
    const page = await call('GET', `/v1/accounts/acct_r/holds${query}`);
    t.equal(page.status, 200, query);
    return { ids: page.body.data.map((h: Hold) => h.id), statuses: [...new Set(page.body.data.map((h: Hold) => h.status))], nextCursor: page.body.nextCursor };
  };
  t.same(await ids(''), { ids: [active], statuses: ['active'], nextCursor: null }, 'no status: the holds that reserve credits, as before');
  t.same(await ids('?status=active'), { ids: [active], statuses: ['active'], nextCursor: null });
  t.same(await ids('?status=released'), { ids: [released1], statuses: ['released'], nextCursor: null });
  t.same(await ids('?status=expired'), { ids: [lapsed], statuses: ['expired'], nextCursor: null }, 'a hold past its time, its release not yet written');
  t.same(await ids('?status=captured&limit=2'), { ids: [captured1, captured2], statuses: ['captured'], nextCursor: captured2 });
  t.same(await ids(`?status=captured&limit=2&cursor=${captured2}`), { ids: [captured3], statuses: ['captured'], nextCursor: null });
  t.equal((await call('POST', '/v1/accounts/acct_r/spend', { amount: 1 }, { 'idempotency-key': key() })).status, 200); // writes the lapsed hold's release
  t.same(await ids('?status=expired'), { ids: [lapsed], statuses: ['expired'], nextCursor: null }, 'and after it is written');
  const bad = await call('GET', '/v1/accounts/acct_r/holds?status=settled');
  t.equal(bad.status, 400);
  t.match(bad.body.error, { code: 'invalid_request' });
});
