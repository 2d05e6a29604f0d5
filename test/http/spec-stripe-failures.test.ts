import t from 'tap';
import { ADMIN_KEY, build, key } from '../helper.js';
import { specChecker } from './spec-check.js';
import { settled, subscribe } from '../subscriptions/fixtures.js';

// (Stripe answers idempotency_error only to a POST: its keys are for POSTs.)
// Each route that may reach Stripe, with Stripe answering one failure (the next request it gets):
// the status Tally answers, and its headers, must be ones the document lists for that route.
const FAILURES = [
  { name: 'Stripe 500', rule: { status: 500 } },
  { name: 'Stripe 409 idempotency_error (request_in_progress)', rule: { method: 'POST', status: 409, error: { type: 'idempotency_error', message: 'Keys for idempotent requests can only be used with the same parameters they were first used with... still in progress' } } },
  { name: 'Stripe 400 invalid_request_error', rule: { status: 400, error: { type: 'invalid_request_error', message: 'Simulated refusal' } } },
  { name: 'Stripe 401', rule: { status: 401, error: { type: 'authentication_error', message: 'Invalid API Key' } } },
  { name: 'Stripe 429', rule: { status: 429, error: { type: 'rate_limit_error', message: 'Too many requests' } } },
];

t.test('Stripe failing: every status and header a route answers is one its document lists', async (t) => {
  const ctx = await build(t, { listen: true });
  const { call, problems, seen } = await specChecker(ctx);
  const svc = { key: ctx.serviceKey };
  await ctx.call('PUT', '/v1/accounts/acct_org', { email: 'org@example.com', name: 'Org' });
  await ctx.call('PUT', '/v1/accounts/acct_b', { email: 'b@example.com', name: 'B' });
  const pack = (await ctx.call('POST', '/v1/packs', { name: 'Starter', credits: 500, unitAmount: 500, currency: 'usd' }, { 'idempotency-key': key('pack') })).body;
  const plan = (await ctx.call('POST', '/v1/plans', { name: 'Pro', credits: 1000, unitAmount: 1000, currency: 'usd', interval: 'month' }, { 'idempotency-key': key('plan') })).body;
  const plan2 = (await ctx.call('POST', '/v1/plans', { name: 'Max', credits: 5000, unitAmount: 3000, currency: 'usd', interval: 'month' }, { 'idempotency-key': key('plan') })).body;
  const sub = await subscribe(ctx, 'acct_org', plan.id);
  await settled(ctx);
  // a checkout made ready, and a Stripe customer for acct_b
  const open = (await ctx.call('POST', '/v1/checkout/sessions', { accountId: 'acct_b', packId: pack.id }, svc)).body;
  const bills: string[] = [];
  for (let i = 0; i < 12; i++) bills.push((await ctx.call('POST', '/v1/bills', { accountId: 'acct_b', name: `B${i}`, amount: 1000, currency: 'usd', expiresInSeconds: 1800 }, svc)).body.id);
  const nextBill = () => bills.pop() ?? 'bill_none';

  const routes: Array<[string, string, () => Promise<unknown>]> = [];
  const add = (method: string, template: string, url: () => string, body?: () => unknown, headers: Record<string, string> = {}) =>
    routes.push([method, template, () => call(method, template, url(), body?.(), { ...svc, ...headers, ...(headers.key === 'ADMIN' ? { key: ADMIN_KEY } : {}) }, 'stripe failing')]);
  add('POST', '/v1/checkout/sessions', () => '/v1/checkout/sessions', () => ({ accountId: 'acct_b', packId: pack.id }), { 'idempotency-key': key('co') });
  add('POST', '/v1/portal/sessions', () => '/v1/portal/sessions', () => ({ accountId: 'acct_b' }));
  add('POST', '/v1/bills', () => '/v1/bills', () => ({ accountId: 'acct_b', name: 'X', amount: 1000, currency: 'usd' }), { 'idempotency-key': key('bill') });
  add('POST', '/v1/packs', () => '/v1/packs', () => ({ name: 'P', credits: 5, unitAmount: 500, currency: 'usd' }), { key: 'ADMIN', 'idempotency-key': key('pack') });
  add('PATCH', '/v1/packs/{packId}', () => `/v1/packs/${pack.id}`, () => ({ unitAmount: 600 + Math.floor(Math.random() * 1000) }), { key: 'ADMIN' });
  add('POST', '/v1/plans', () => '/v1/plans', () => ({ name: 'Q', credits: 5, unitAmount: 500, currency: 'usd', interval: 'month' }), { key: 'ADMIN', 'idempotency-key': key('plan') });
  add('PATCH', '/v1/plans/{planId}', () => `/v1/plans/${plan2.id}`, () => ({ unitAmount: 3100 + Math.floor(Math.random() * 1000) }), { key: 'ADMIN' });
  add('POST', '/v1/subscriptions/{id}/change', () => `/v1/subscriptions/${sub.subscriptionId}/change`, () => ({ planId: plan2.id }));
  add('POST', '/v1/subscriptions/{id}/cancel', () => `/v1/subscriptions/${sub.subscriptionId}/cancel`, () => ({ atPeriodEnd: true }));
  add('POST', '/v1/checkout/sessions/{id}/sync', () => `/v1/checkout/sessions/${open.id}/sync`);
  add('GET', '/v1/checkout/sessions/{id}', () => `/v1/checkout/sessions/${open.id}`);
  add('POST', '/v1/bills/{billId}/cancel', () => `/v1/bills/${nextBill()}/cancel`);
  add('GET', '/v1/bills/{billId}', () => `/v1/bills/${bills[0]}`);
  add('PUT', '/v1/accounts/{accountId}', () => '/v1/accounts/acct_b', () => ({ name: `B ${Math.random()}` }));
  add('GET', '/v1/accounts/{accountId}/subscription', () => '/v1/accounts/acct_org/subscription');

  for (const failure of FAILURES) {
    for (const [, , run] of routes) {
      ctx.simulator.failNext({ path: '/v1/', ...failure.rule, count: 1 } as never);
      seen.push(`--- ${failure.name}`);
      await run();
      // a route that did not reach Stripe leaves the failure: spend it here
      if (ctx.simulator.pendingFailures() > 0) await (failure.rule.method === 'POST' ? ctx.stripe.customers.create({}) : ctx.stripe.customers.list({ limit: 1 })).catch(() => undefined);
    }
  }
  if (process.env.SPEC_CHECK_VERBOSE) for (const s of seen) t.comment(s);
  for (const p of problems) t.comment(p);
  t.same(problems, [], 'every answer is one the document lists, headers included');
});
