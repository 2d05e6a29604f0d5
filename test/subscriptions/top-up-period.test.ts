import t from 'tap';
import { topUpPeriod, type PeriodTopUp } from '../../src/domain/subscriptions/top-up-period.js';
import { build, ledgerSum } from '../helper.js';

t.test('racing top-ups of one period end at the highest target, never at a sum', async (t) => {
  const ctx = await build(t);
  await ctx.call('PUT', '/v1/accounts/acct_org', {});
  const end = Math.floor(Date.now() / 1000) + 30 * 86_400;
  const request = (target: number, invoice: string | null): PeriodTopUp => ({
    accountId: 'acct_org', stripeSubscriptionId: 'sub_race', stripeInvoiceId: invoice, planId: 'plan_x', start: end - 30 * 86_400, end, target, rollover: false,
  });
  const calls = Array.from({ length: 20 }, (_, i) => topUpPeriod(ctx.app.ledger, ctx.database.prisma, request(i % 2 === 0 ? 1000 : 5000, i % 2 === 0 ? 'in_first' : null)));
  const results = await Promise.all(calls);
  t.equal(results.reduce((sum, r) => sum + r.granted, 0), 5000, 'granted in total: the higher target');
  t.ok(results.every((r, i) => r.level >= (i % 2 === 0 ? 1000 : 5000)), 'every caller left the period at least at its own target');
  t.equal(Number((await ledgerSum(ctx.database, 'acct_org')).available), 5000);
  const again = await topUpPeriod(ctx.app.ledger, ctx.database.prisma, request(1000, 'in_first'));
  t.equal(again.granted, 0, 'a lower target, asked again, grants nothing');
  t.ok(again.level >= 1000);
  const recorded = await ctx.database.prisma.subscriptionGrant.findMany({ where: { stripeSubscriptionId: 'sub_race' } });
  t.equal(recorded.reduce((sum, row) => sum + Number(row.credits), 0), 5000, 'the record beside the ledger agrees');
  t.ok(recorded.every((row) => row.periodEnd.getTime() === end * 1000));
});
