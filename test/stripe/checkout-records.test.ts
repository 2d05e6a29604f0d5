import t from 'tap';
import { build } from '../helper.js';
import { recordCheckouts, type CheckoutState } from '../../src/db/checkout-queries.js';

const view = (id: string, accountId: string, change: Partial<CheckoutState> = {}): CheckoutState => ({
  id,
  accountId,
  kind: 'pack',
  packId: null,
  planId: null,
  billId: null,
  quantity: 1,
  credits: 100,
  amountTotal: 1000,
  currency: 'usd',
  url: null,
  expiresAt: null,
  status: 'open',
  paymentStatus: 'unpaid',
  fulfilledAt: null,
  grantId: null,
  ...change,
});

t.test('several checkouts in one call, one session more than once: each view answered in order, a fulfilment never undone', async (t) => {
  const ctx = await build(t);
  await ctx.call('PUT', '/v1/accounts/acct_a', {});
  await ctx.call('PUT', '/v1/accounts/acct_b', {});
  const fulfilledAt = new Date('2026-11-25T12:00:00Z');
  const results = await recordCheckouts(ctx.database.pool, [
    view('cs_a', 'acct_a'),
    view('cs_b', 'acct_b', { status: 'expired', paymentStatus: 'unpaid' }),
    view('cs_a', 'acct_a', { status: 'complete', paymentStatus: 'paid', fulfilledAt, grantId: 'grt_a' }),
    view('cs_a', 'acct_a', { status: 'open', paymentStatus: 'unpaid' }),
  ]);
  t.same(
    results.map((r) => [r.status, r.fulfilledAt?.toISOString() ?? null]),
    [
      ['open', null],
      ['expired', null],
      ['complete', fulfilledAt.toISOString()],
      ['complete', fulfilledAt.toISOString()],
    ],
    'the later, older view of cs_a finds it fulfilled',
  );
  const { rows } = await ctx.database.pool.query("SELECT id, status::text, payment_status, grant_id FROM checkouts WHERE id IN ('cs_a', 'cs_b') ORDER BY id");
  t.same(rows, [
    { id: 'cs_a', status: 'complete', payment_status: 'paid', grant_id: 'grt_a' },
    { id: 'cs_b', status: 'expired', payment_status: 'unpaid', grant_id: null },
  ]);
});
