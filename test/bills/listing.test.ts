import t from 'tap';
import { build } from '../helper.js';
import { account, createBill } from './fixtures.js';

t.test("an account's bills page by page, newest first: every bill once, past 200 too", async (t) => {
  const ctx = await build(t);
  await account(ctx);
  await account(ctx, 'acct_other');
  const other = await createBill(ctx, { accountId: 'acct_other', name: 'Elsewhere' });
  // 205 bills, written straight to the table (Stripe has nothing to do with listing); several share a created_at.
  await ctx.database.pool.query(
    `INSERT INTO bills (id, account_id, name, amount, currency, expires_in_seconds, stripe_checkout_session_id, expires_at, created_at, updated_at)
     SELECT 'bill_list_' || lpad(g::text, 3, '0'), 'acct_org', 'Bill ' || g, 5000, 'usd', 86400, 'cs_test_list_' || g, now() + interval '1 day',
            timestamp '2026-01-01' + (g / 3) * interval '1 minute', now()
     FROM generate_series(1, 205) g`,
  );

  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const reply: { status: number; body: { data: Array<{ id: string; accountId: string; createdAt: string }>; nextCursor: string | null } } =
      await ctx.call('GET', `/v1/accounts/acct_org/bills?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
    t.equal(reply.status, 200);
    t.ok(reply.body.data.every((bill) => bill.accountId === 'acct_org'));
    seen.push(...reply.body.data.map((bill) => bill.id));
    cursor = reply.body.nextCursor;
    pages++;
  } while (cursor && pages < 10);
  t.equal(pages, 3, 'three pages of at most 100');
  t.equal(seen.length, 205, 'every bill');
  t.equal(new Set(seen).size, 205, 'each once');
  const expected = Array.from({ length: 205 }, (_, i) => 205 - i).map((g) => `bill_list_${String(g).padStart(3, '0')}`);
  t.same(seen, expected, 'newest first; among bills made at the same time, the greater id first');

  const first = await ctx.call('GET', '/v1/accounts/acct_org/bills');
  t.equal(first.body.data.length, 50, 'fifty by default, as every list');
  t.equal(first.body.nextCursor, first.body.data[49].id);
  for (const bad of ['bill_nope', other.id]) {
    const reply = await ctx.call('GET', `/v1/accounts/acct_org/bills?cursor=${bad}`);
    t.equal(reply.status, 400, `${bad}: not a cursor of this account, not an empty page that reads as the end`);
    t.equal(reply.body.error.code, 'invalid_request');
  }
  t.equal((await ctx.call('GET', '/v1/accounts/acct_org/bills?limit=201')).status, 400);
  t.equal((await ctx.call('GET', '/v1/accounts/nobody/bills')).status, 404);
});

t.test("a page deep in an account's bills reads about a page of rows, not every newer bill", async (t) => {
  const ctx = await build(t);
  await account(ctx);
  await ctx.database.pool.query(
    `INSERT INTO bills (id, account_id, name, amount, currency, expires_in_seconds, stripe_checkout_session_id, expires_at, created_at, updated_at)
     SELECT 'bill_deep_' || lpad(g::text, 4, '0'), 'acct_org', 'Bill ' || g, 5000, 'usd', 86400, 'cs_test_deep_' || g, now() + interval '1 day',
            timestamp '2026-01-01' + (g / 3) * interval '1 minute', now()
     FROM generate_series(1, 3000) g;
     ANALYZE bills`,
  );
  // The statement the list sends, recorded as it goes to PostgreSQL, then explained there with its values.
  const pool = ctx.database.pool as unknown as { query: (...args: unknown[]) => unknown };
  const query = pool.query.bind(pool);
  const sent: Array<{ text: string; values: unknown[] }> = [];
  pool.query = (...args: unknown[]) => {
    const [config, values] = args as [string | { text: string; values?: unknown[] }, unknown[] | undefined];
    const text = typeof config === 'string' ? config : config.text;
    if (/FROM "public"\."bills"/.test(text) && /ORDER BY/.test(text)) sent.push({ text, values: (typeof config === 'string' ? values : (config.values ?? values)) ?? [] });
    return query(...args);
  };
  const deep = await ctx.call('GET', '/v1/accounts/acct_org/bills?limit=50&cursor=bill_deep_1500');
  pool.query = query;
  t.equal(deep.status, 200);
  t.same(deep.body.data.map((bill: { id: string }) => bill.id), Array.from({ length: 50 }, (_, i) => `bill_deep_${String(1499 - i).padStart(4, '0')}`), 'the 50 bills after the cursor');
  t.equal(sent.length, 1, 'one listing statement');
  const { rows } = await ctx.database.pool.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sent[0].text}`, sent[0].values);
  // The rows each read of the table gave, and those it read and dropped.
  const scans: Array<{ 'Node Type': string; 'Actual Rows': number; 'Rows Removed by Filter'?: number }> = [];
  const walk = (node: { 'Node Type': string; 'Relation Name'?: string; 'Actual Rows': number; Plans?: unknown[] }) => {
    if (node['Relation Name'] === 'bills') scans.push(node as (typeof scans)[number]);
    for (const child of node.Plans ?? []) walk(child as typeof node);
  };
  walk(rows[0]['QUERY PLAN'][0].Plan);
  const read = scans.reduce((sum, scan) => sum + scan['Actual Rows'] + (scan['Rows Removed by Filter'] ?? 0), 0);
  t.ok(read <= 60, `about a page of bills read (${read}; 1,500 newer bills are before the cursor)`, { scans });
});
