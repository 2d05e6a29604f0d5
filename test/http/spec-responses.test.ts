import t from 'tap';
import { build, key, signedEvent } from '../helper.js';
import { specChecker } from './spec-check.js';
import { settled, subscribe } from '../subscriptions/fixtures.js';

// Drives a broad set of real calls against the simulator and validates every answer (status, body,
// headers) against the served, dereferenced /openapi.json.
t.test('real answers of every route validate against the served document', async (t) => {
  const ctx = await build(t, { listen: true });
  const { call, check, problems, seen } = await specChecker(ctx);
  const svc = { key: ctx.serviceKey };
  const replays: string[] = [];
  const replay = (r: { status: number; headers: Record<string, unknown> }, what: string) => { if (r.headers['idempotent-replayed'] !== 'true') replays.push(`${what} replay → ${r.status} without idempotent-replayed: true`); };
  const A = '/v1/accounts/{accountId}';

  // accounts
  await call('PUT', A, '/v1/accounts/acct_a', { email: 'a@example.com', name: 'A', metadata: { tier: 'gold', n: 1, ok: true, none: null } });
  await call('PUT', A, '/v1/accounts/acct_a', { name: 'A2' });
  await call('PUT', A, '/v1/accounts/acct_b');
  await call('PUT', A, '/v1/accounts/acct_a', { email: 'not-an-email' }, undefined, 'bad email');
  await call('GET', A, '/v1/accounts/acct_a');
  await call('GET', A, '/v1/accounts/acct_missing', undefined, undefined, 'missing');
  await call('GET', `${A}/balance`, '/v1/accounts/acct_a/balance');
  await call('GET', `${A}/balance`, '/v1/accounts/acct_missing/balance');

  // grants, spend
  const g1 = key('g');
  await call('POST', `${A}/grants`, '/v1/accounts/acct_a/grants', { amount: 1000, reason: 'welcome', metadata: { a: 1 } }, { 'idempotency-key': g1 });
  replay(await call('POST', `${A}/grants`, '/v1/accounts/acct_a/grants', { amount: 1000, reason: 'welcome', metadata: { a: 1 } }, { 'idempotency-key': g1 }, 'replay'), 'grant');
  await call('POST', `${A}/grants`, '/v1/accounts/acct_a/grants', { amount: 5 }, { 'idempotency-key': g1 }, 'key reused');
  await call('POST', `${A}/grants`, '/v1/accounts/acct_a/grants', { amount: 50, source: 'promo', expiresAt: new Date(Date.now() + 86_400_000).toISOString() }, { 'idempotency-key': key('g') });
  await call('POST', `${A}/grants`, '/v1/accounts/acct_a/grants', { amount: 50 }, {}, 'no key');
  await call('POST', `${A}/grants`, '/v1/accounts/acct_a/grants', { amount: 50 }, { 'idempotency-key': key('g'), key: ctx.serviceKey }, 'service key');
  await call('POST', `${A}/grants`, '/v1/accounts/acct_missing/grants', { amount: 50 }, { 'idempotency-key': key('g') }, 'missing account');
  await call('POST', `${A}/grants`, '/v1/accounts/acct_a/grants', { amount: 50, expiresAt: '2000-01-01T00:00:00Z' }, { 'idempotency-key': key('g') }, 'past expiry');
  await call('POST', `${A}/grants`, '/v1/accounts/acct_b/grants', { amount: 1e12 }, { 'idempotency-key': key('g') });
  const s1 = key('s');
  await call('POST', `${A}/spend`, '/v1/accounts/acct_a/spend', { amount: 10, reason: 'r' }, { 'idempotency-key': s1, ...svc });
  replay(await call('POST', `${A}/spend`, '/v1/accounts/acct_a/spend', { amount: 10, reason: 'r' }, { 'idempotency-key': s1, ...svc }, 'replay'), 'spend');
  await call('POST', `${A}/spend`, '/v1/accounts/acct_a/spend', { amount: 10_000_000 }, { 'idempotency-key': key('s'), ...svc }, 'insufficient');
  await call('POST', `${A}/spend`, '/v1/accounts/acct_missing/spend', { amount: 1 }, { 'idempotency-key': key('s'), ...svc }, 'missing');
  await call('POST', `${A}/spend`, '/v1/accounts/acct_a/spend', { amount: 1 }, svc, 'no key');
  await call('POST', `${A}/spend`, '/v1/accounts/acct_a/spend', { amount: 1 }, { 'idempotency-key': 'k'.repeat(256), ...svc }, 'key too long');

  // holds
  const h = await call('POST', `${A}/holds`, '/v1/accounts/acct_a/holds', { amount: 100, expiresInSeconds: 600, reason: 'job', metadata: { job: 'x' } }, { 'idempotency-key': key('h'), ...svc });
  const h2 = await call('POST', `${A}/holds`, '/v1/accounts/acct_a/holds', { amount: 50 }, { 'idempotency-key': key('h'), ...svc });
  const hk = key('h');
  await call('POST', `${A}/holds`, '/v1/accounts/acct_a/holds', { amount: 7 }, { 'idempotency-key': hk, ...svc });
  replay(await call('POST', `${A}/holds`, '/v1/accounts/acct_a/holds', { amount: 7 }, { 'idempotency-key': hk, ...svc }, 'replay'), 'hold');
  const h3 = await call('POST', `${A}/holds`, '/v1/accounts/acct_a/holds', { amount: 5 }, { 'idempotency-key': key('h'), ...svc });
  await call('POST', `${A}/holds`, '/v1/accounts/acct_a/holds', { amount: 10_000_000 }, { 'idempotency-key': key('h'), ...svc }, 'insufficient');
  await call('POST', `${A}/holds`, '/v1/accounts/acct_missing/holds', { amount: 1 }, { 'idempotency-key': key('h'), ...svc }, 'missing');
  await call('GET', '/v1/holds/{holdId}', `/v1/holds/${h.body.id}`);
  await call('GET', '/v1/holds/{holdId}', '/v1/holds/hold_missing', undefined, undefined, 'missing');
  await call('GET', `${A}/holds`, '/v1/accounts/acct_a/holds');
  await call('GET', `${A}/holds`, '/v1/accounts/acct_a/holds?limit=1');
  const c = key('c');
  await call('POST', '/v1/holds/{holdId}/capture', `/v1/holds/${h.body.id}/capture`, { amount: 60, reason: 'done' }, { 'idempotency-key': c, ...svc });
  replay(await call('POST', '/v1/holds/{holdId}/capture', `/v1/holds/${h.body.id}/capture`, { amount: 60, reason: 'done' }, { 'idempotency-key': c, ...svc }, 'replay'), 'POST /v1/holds/{holdId}/capture');
  await call('POST', '/v1/holds/{holdId}/capture', `/v1/holds/${h.body.id}/capture`, { amount: 1 }, svc, 'not active');
  await call('POST', '/v1/holds/{holdId}/capture', `/v1/holds/${h2.body.id}/capture`, { amount: 51 }, svc, 'over held');
  await call('POST', '/v1/holds/{holdId}/capture', '/v1/holds/hold_missing/capture', { amount: 1 }, svc, 'missing');
  await call('POST', '/v1/holds/{holdId}/release', `/v1/holds/${h2.body.id}/release`, undefined, svc);
  await call('POST', '/v1/holds/{holdId}/release', `/v1/holds/${h2.body.id}/release`, { reason: 'again' }, svc, 'not active');
  const rk = key('r');
  await call('POST', '/v1/holds/{holdId}/release', `/v1/holds/${h3.body.id}/release`, {}, { 'idempotency-key': rk, ...svc });
  replay(await call('POST', '/v1/holds/{holdId}/release', `/v1/holds/${h3.body.id}/release`, undefined, { 'idempotency-key': rk, ...svc }, 'replay'), 'release');
  await call('POST', '/v1/holds/{holdId}/release', '/v1/holds/hold_missing/release', undefined, svc, 'missing');
  for (const status of ['active', 'captured', 'released', 'expired']) await call('GET', `${A}/holds`, `/v1/accounts/acct_a/holds?status=${status}`);
  await call('GET', `${A}/holds`, '/v1/accounts/acct_missing/holds', undefined, undefined, 'missing');
  await call('GET', `${A}/holds`, '/v1/accounts/acct_a/holds?cursor=nope', undefined, undefined, 'bad cursor');

  // ledger
  const l = await call('GET', `${A}/ledger`, '/v1/accounts/acct_a/ledger?limit=2');
  if (l.body.nextCursor) await call('GET', `${A}/ledger`, `/v1/accounts/acct_a/ledger?limit=2&cursor=${encodeURIComponent(l.body.nextCursor)}`);
  await call('GET', `${A}/ledger`, '/v1/accounts/acct_a/ledger');
  await call('GET', `${A}/ledger`, '/v1/accounts/acct_a/ledger?cursor=bogus', undefined, undefined, 'bad cursor');
  await call('GET', `${A}/ledger`, '/v1/accounts/acct_missing/ledger', undefined, undefined, 'missing');
  await call('GET', A, '/v1/accounts/acct_a', undefined, undefined, 'after activity');

  // api keys
  const k = await call('POST', '/v1/api-keys', '/v1/api-keys', { name: 'worker', role: 'service' });
  await call('POST', '/v1/api-keys', '/v1/api-keys', { name: 'worker2' });
  await call('GET', '/v1/api-keys', '/v1/api-keys');
  await call('GET', '/v1/api-keys', '/v1/api-keys', undefined, svc, 'service key');
  await call('DELETE', '/v1/api-keys/{id}', `/v1/api-keys/${k.body.id}`);
  await call('DELETE', '/v1/api-keys/{id}', `/v1/api-keys/${k.body.id}`, undefined, undefined, 'again');
  await call('DELETE', '/v1/api-keys/{id}', '/v1/api-keys/key_missing', undefined, undefined, 'missing');
  await call('GET', '/v1/api-keys', '/v1/api-keys', undefined, undefined, 'after revoke');

  // packs, plans
  const pk = key('pack');
  const pack = await call('POST', '/v1/packs', '/v1/packs', { name: 'Starter', credits: 500, unitAmount: 500, currency: 'usd' }, { 'idempotency-key': pk });
  replay(await call('POST', '/v1/packs', '/v1/packs', { name: 'Starter', credits: 500, unitAmount: 500, currency: 'usd' }, { 'idempotency-key': pk }, 'replay'), 'POST /v1/packs');
  await call('POST', '/v1/packs', '/v1/packs', { name: 'Other', credits: 5, unitAmount: 500, currency: 'usd' }, { 'idempotency-key': pk }, 'key reused');
  await call('POST', '/v1/packs', '/v1/packs', { name: 'Cheap', credits: 5, unitAmount: 1, currency: 'usd' }, undefined, 'below minimum');
  await call('GET', '/v1/packs', '/v1/packs');
  await call('GET', '/v1/packs', '/v1/packs?active=false');
  await call('GET', '/v1/packs', '/v1/packs', undefined, svc, 'service');
  await call('GET', '/v1/packs/{packId}', `/v1/packs/${pack.body.id}`);
  await call('GET', '/v1/packs/{packId}', '/v1/packs/pack_missing', undefined, undefined, 'missing');
  await call('PATCH', '/v1/packs/{packId}', `/v1/packs/${pack.body.id}`, { name: 'Starter+' });
  await call('PATCH', '/v1/packs/{packId}', `/v1/packs/${pack.body.id}`, { unitAmount: 700 });
  await call('PATCH', '/v1/packs/{packId}', '/v1/packs/pack_missing', { name: 'x' }, undefined, 'missing');
  const plan = await call('POST', '/v1/plans', '/v1/plans', { name: 'Pro', credits: 1000, unitAmount: 1000, currency: 'usd', interval: 'month', rollover: false }, { 'idempotency-key': key('plan') });
  const plan2 = await call('POST', '/v1/plans', '/v1/plans', { name: 'Max', credits: 5000, unitAmount: 3000, currency: 'usd', interval: 'month' }, { 'idempotency-key': key('plan') });
  await call('GET', '/v1/plans', '/v1/plans');
  await call('GET', '/v1/plans', '/v1/plans?active=false');
  await call('GET', '/v1/plans/{planId}', `/v1/plans/${plan.body.id}`);
  await call('GET', '/v1/plans/{planId}', '/v1/plans/plan_missing', undefined, undefined, 'missing');
  await call('PATCH', '/v1/plans/{planId}', `/v1/plans/${plan2.body.id}`, { name: 'Max+' });
  await call('PATCH', '/v1/plans/{planId}', '/v1/plans/plan_missing', { name: 'x' }, undefined, 'missing');

  // checkout
  const ck = key('co');
  const co = await call('POST', '/v1/checkout/sessions', '/v1/checkout/sessions', { accountId: 'acct_a', packId: pack.body.id, quantity: 2 }, { 'idempotency-key': ck, ...svc });
  replay(await call('POST', '/v1/checkout/sessions', '/v1/checkout/sessions', { accountId: 'acct_a', packId: pack.body.id, quantity: 2 }, { 'idempotency-key': ck, ...svc }, 'replay'), 'POST /v1/checkout/sessions');
  await call('POST', '/v1/checkout/sessions', '/v1/checkout/sessions', { accountId: 'acct_a', priceId: pack.body.stripePriceId, mode: 'payment' }, svc, 'by price');
  await call('POST', '/v1/checkout/sessions', '/v1/checkout/sessions', { accountId: 'acct_a', priceId: 'price_unknown' }, svc, 'unknown price');
  await call('POST', '/v1/checkout/sessions', '/v1/checkout/sessions', { accountId: 'acct_missing', packId: pack.body.id }, svc, 'missing account');
  await call('POST', '/v1/checkout/sessions', '/v1/checkout/sessions', { accountId: 'acct_a', packId: 'pack_missing' }, svc, 'missing pack');
  await call('POST', '/v1/checkout/sessions', '/v1/checkout/sessions', { accountId: 'acct_a', packId: pack.body.id, quantity: 100 }, svc, 'q100');
  await call('GET', '/v1/checkout/sessions/{id}', `/v1/checkout/sessions/${co.body.id}`);
  await call('GET', '/v1/checkout/sessions/{id}', '/v1/checkout/sessions/cs_missing', undefined, undefined, 'missing');
  await call('POST', '/v1/checkout/sessions/{id}/sync', `/v1/checkout/sessions/${co.body.id}/sync`, undefined, svc, 'open');
  await ctx.simulator.pay(co.body.id);
  await call('POST', '/v1/checkout/sessions/{id}/sync', `/v1/checkout/sessions/${co.body.id}/sync`, undefined, svc, 'paid');
  await call('POST', '/v1/checkout/sessions/{id}/sync', '/v1/checkout/sessions/cs_missing/sync', undefined, svc, 'missing');
  await call('GET', '/v1/checkout/sessions/{id}', `/v1/checkout/sessions/${co.body.id}`, undefined, undefined, 'paid');

  // portal
  await call('POST', '/v1/portal/sessions', '/v1/portal/sessions', { accountId: 'acct_a', returnUrl: 'https://example.com/back' }, svc);
  await call('POST', '/v1/portal/sessions', '/v1/portal/sessions', { accountId: 'acct_missing' }, svc, 'missing');
  await call('PUT', A, '/v1/accounts/acct_nocust', {});
  await call('POST', '/v1/portal/sessions', '/v1/portal/sessions', { accountId: 'acct_nocust' }, svc, 'no customer');

  // subscriptions
  await call('GET', `${A}/subscription`, '/v1/accounts/acct_a/subscription', undefined, svc, 'none');
  await call('PUT', A, '/v1/accounts/acct_org', { email: 'org@example.com' });
  const sub = await subscribe(ctx, 'acct_org', plan.body.id);
  await settled(ctx);
  await call('POST', '/v1/checkout/sessions', '/v1/checkout/sessions', { accountId: 'acct_org', planId: plan.body.id }, svc, 'subscription exists');
  const s = await call('GET', `${A}/subscription`, '/v1/accounts/acct_org/subscription', undefined, svc);
  await call('POST', '/v1/subscriptions/{id}/change', `/v1/subscriptions/${s.body.id ?? sub.subscriptionId}/change`, { planId: plan2.body.id }, svc);
  await call('POST', '/v1/subscriptions/{id}/change', `/v1/subscriptions/${s.body.id ?? sub.subscriptionId}/change`, { planId: 'plan_missing' }, svc, 'missing plan');
  await call('POST', '/v1/subscriptions/{id}/change', '/v1/subscriptions/sub_missing/change', { planId: plan2.body.id }, svc, 'missing');
  await call('POST', '/v1/subscriptions/{id}/cancel', `/v1/subscriptions/${sub.subscriptionId}/cancel`, undefined, svc);
  await call('POST', '/v1/subscriptions/{id}/cancel', `/v1/subscriptions/${sub.subscriptionId}/cancel`, { atPeriodEnd: false }, svc, 'now');
  await call('POST', '/v1/subscriptions/{id}/cancel', `/v1/subscriptions/${sub.subscriptionId}/cancel`, { atPeriodEnd: false }, svc, 'again');
  await call('POST', '/v1/subscriptions/{id}/cancel', '/v1/subscriptions/sub_missing/cancel', undefined, svc, 'missing');
  await settled(ctx);
  await call('GET', `${A}/subscription`, '/v1/accounts/acct_org/subscription', undefined, svc, 'after cancel');

  // bills
  const bk = key('bill');
  const bill = await call('POST', '/v1/bills', '/v1/bills', { accountId: 'acct_org', name: 'Onboarding', amount: 250_000, currency: 'usd', credits: 100, description: 'setup' }, { 'idempotency-key': bk, ...svc });
  replay(await call('POST', '/v1/bills', '/v1/bills', { accountId: 'acct_org', name: 'Onboarding', amount: 250_000, currency: 'usd', credits: 100, description: 'setup' }, { 'idempotency-key': bk, ...svc }, 'replay'), 'POST /v1/bills');
  const bill2 = await call('POST', '/v1/bills', '/v1/bills', { accountId: 'acct_org', name: 'Extra', amount: 1000, currency: 'usd' }, svc);
  await call('POST', '/v1/bills', '/v1/bills', { accountId: 'acct_missing', name: 'x', amount: 1000, currency: 'usd' }, svc, 'missing account');
  await call('POST', '/v1/bills', '/v1/bills', { accountId: 'acct_org', name: 'x', amount: 1, currency: 'usd' }, svc, 'below minimum');
  await call('GET', '/v1/bills/{billId}', `/v1/bills/${bill.body.id}`, undefined, svc);
  await call('GET', '/v1/bills/{billId}', '/v1/bills/bill_missing', undefined, svc, 'missing');
  await call('GET', `${A}/bills`, '/v1/accounts/acct_org/bills?limit=1', undefined, svc);
  await call('GET', `${A}/bills`, '/v1/accounts/acct_missing/bills', undefined, svc, 'missing');
  await call('GET', `${A}/bills`, '/v1/accounts/acct_org/bills?cursor=nope', undefined, svc, 'bad cursor');
  await call('POST', '/v1/bills/{billId}/checkout', `/v1/bills/${bill.body.id}/checkout`, { expiresInSeconds: 3600 }, svc);
  await call('POST', '/v1/bills/{billId}/cancel', `/v1/bills/${bill2.body.id}/cancel`, undefined, svc);
  await call('POST', '/v1/bills/{billId}/cancel', `/v1/bills/${bill2.body.id}/cancel`, undefined, svc, 'again');
  await call('POST', '/v1/bills/{billId}/checkout', `/v1/bills/${bill2.body.id}/checkout`, undefined, svc, 'canceled');
  await call('POST', '/v1/bills/{billId}/cancel', '/v1/bills/bill_missing/cancel', undefined, svc, 'missing');
  await call('POST', '/v1/bills/{billId}/checkout', '/v1/bills/bill_missing/checkout', undefined, svc, 'missing');
  const b = await call('GET', '/v1/bills/{billId}', `/v1/bills/${bill.body.id}`, undefined, svc, 'after new checkout');
  await ctx.simulator.pay(b.body.checkoutSessionId);
  await settled(ctx);
  await call('GET', '/v1/bills/{billId}', `/v1/bills/${bill.body.id}`, undefined, svc, 'paid');
  await call('POST', '/v1/bills/{billId}/cancel', `/v1/bills/${bill.body.id}/cancel`, undefined, svc, 'paid');
  await call('GET', `${A}/bills`, '/v1/accounts/acct_org/bills', undefined, svc, 'all');
  await call('GET', `${A}/ledger`, '/v1/accounts/acct_org/ledger', undefined, undefined, 'org');
  await call('GET', A, '/v1/accounts/acct_org', undefined, undefined, 'org');

  // webhooks
  const W = '/v1/webhooks/stripe';
  const hook = async (payload: string, signature: string | undefined, note: string) => {
    const r = await ctx.app.inject({ method: 'POST', url: W, payload, headers: { 'content-type': 'application/json', ...(signature ? { 'stripe-signature': signature } : {}) } });
    let body: unknown = r.body;
    try { body = JSON.parse(r.body); } catch {}
    return check('POST', W, { status: r.statusCode, body, headers: r.headers }, note);
  };
  const ev = signedEvent(ctx.stripe, 'customer.created', { id: 'cus_x', object: 'customer' });
  await hook(ev.payload, ev.header, 'valid, ignored type');
  await hook(ev.payload, ev.header, 'same again');
  await hook(ev.payload, undefined, 'no signature');
  await hook(ev.payload, ev.header.replace(/v1=\w+/, 'v1=00'), 'bad signature');
  const odd = signedEvent(ctx.stripe, 'checkout.session.completed', { id: 'cs_made_up', object: 'checkout.session' });
  await hook(odd.payload, odd.header, 'unusable session');
  const notEvent = signedEvent(ctx.stripe, 'invoice.paid', null);
  await hook(notEvent.payload, notEvent.header, 'null object');

  // health
  await call('GET', '/healthz', '/healthz');
  await call('GET', '/readyz', '/readyz');

  if (process.env.SPEC_CHECK_VERBOSE) for (const s of seen) t.comment(s);
  for (const p of problems) t.comment(p);
  t.same(problems, [], 'every real answer matches the document');
  t.same(replays, [], 'every replay says so in idempotent-replayed, as documented');
});
