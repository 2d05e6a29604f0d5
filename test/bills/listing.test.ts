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
