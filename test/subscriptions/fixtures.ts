import type Stripe from 'stripe';
import { eventually, key, signedEvent, WEBHOOK_SECRET, type TestApp } from '../helper.js';

export const DAY = 86_400;

export interface PlanTerms {
  name?: string;
  credits?: number;
  unitAmount?: number;
  currency?: string;
  rollover?: boolean;
  interval?: 'month' | 'year';
}

/** An account and a monthly plan (1,000 credits for $10 unless told), created through the API. */
export async function accountAndPlan(ctx: TestApp, accountId = 'acct_org', terms: PlanTerms = {}) {
  await ctx.call('PUT', `/v1/accounts/${accountId}`, { email: `${accountId}@example.com`, name: 'Org' });
  return { plan: await createPlan(ctx, terms) };
}

/** The account acct_org (or `accountId`) and two monthly plans: Basic (1,000 credits, $10) and Pro (5,000 credits, $30). */
export async function basicAndPro(ctx: TestApp, accountId = 'acct_org') {
  const { plan: basic } = await accountAndPlan(ctx, accountId, { name: 'Basic', credits: 1000, unitAmount: 1000 });
  return { basic, pro: await createPlan(ctx, { name: 'Pro', credits: 5000, unitAmount: 3000 }) };
}

export async function createPlan(ctx: TestApp, terms: PlanTerms = {}) {
  const reply = await ctx.call(
    'POST',
    '/v1/plans',
    { name: terms.name ?? 'Pro', credits: terms.credits ?? 1000, unitAmount: terms.unitAmount ?? 1000, currency: terms.currency ?? 'usd', interval: terms.interval ?? 'month', rollover: terms.rollover ?? false },
    { 'idempotency-key': key('plan') },
  );
  if (reply.status !== 201) throw new Error(`plan: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body as { id: string; credits: number; stripePriceId: string; stripeProductId: string };
}

export async function openPlanCheckout(ctx: TestApp, accountId: string, planId: string) {
  const reply = await ctx.call('POST', '/v1/checkout/sessions', { accountId, planId }, { key: ctx.serviceKey });
  if (reply.status !== 201) throw new Error(`checkout: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body as { id: string; url: string; kind: string };
}

/** Opens a checkout for the plan and pays it on the simulator (no browser). */
export async function subscribe(ctx: TestApp, accountId: string, planId: string, card?: string) {
  const checkout = await openPlanCheckout(ctx, accountId, planId);
  await ctx.simulator.pay(checkout.id, card);
  const session = await ctx.stripe.checkout.sessions.retrieve(checkout.id);
  return { checkout, session, subscriptionId: session.subscription as string, invoiceId: session.invoice as string };
}

export interface GrantRow {
  id: string;
  source: string;
  source_key: string;
  amount: number;
  remaining: number;
  expires_at: Date | null;
}

export async function grantsOf(ctx: TestApp, accountId: string): Promise<GrantRow[]> {
  const { rows } = await ctx.database.pool.query('SELECT id, source, source_key, amount, remaining, expires_at FROM grants WHERE account_id = $1 ORDER BY created_at, id', [accountId]);
  return rows;
}

/** Moves the simulated clock just past the subscription's current period end: one renewal. */
export async function advancePastPeriodEnd(ctx: TestApp, subscriptionId: string) {
  const subscription = await ctx.stripe.subscriptions.retrieve(subscriptionId);
  const end = subscription.items.data[0]!.current_period_end;
  await ctx.simulator.advanceClock(end - ctx.simulator.now() + 60);
}

/** Waits until the simulator delivered everything (when Tally listens) and Tally processed every event it stored. */
export async function settled(ctx: TestApp) {
  if (ctx.url) await eventually(async () => ctx.simulator.pendingDeliveries() === 0);
  await handled(ctx);
}

/** Every event Tally stored is processed (whatever Stripe still has to deliver). */
export async function handled(ctx: TestApp) {
  await eventually(async () => {
    const { rows } = await ctx.database.pool.query("SELECT count(*)::int AS n FROM stripe_events WHERE status IN ('pending', 'failed')");
    return rows[0].n === 0;
  });
}

export async function subscriptionOf(ctx: TestApp, accountId: string) {
  return (await ctx.call('GET', `/v1/accounts/${accountId}/subscription`)).body;
}

/** Posts a signed event to the webhook, as Stripe would deliver it. */
export async function deliver(ctx: TestApp, type: string, object: unknown, options: { id?: string; created?: number } = {}) {
  const { payload, header } = signedEvent(ctx.stripe, type, object, options.id ? { id: options.id } : {});
  const body = options.created === undefined ? payload : JSON.stringify({ ...JSON.parse(payload), created: options.created });
  const signature = options.created === undefined ? header : ctx.stripe.webhooks.generateTestHeaderString({ payload: body, secret: WEBHOOK_SECRET });
  const reply = await ctx.app.inject({ method: 'POST', url: '/v1/webhooks/stripe', headers: { 'stripe-signature': signature, 'content-type': 'application/json' }, payload: body });
  if (reply.statusCode !== 200) throw new Error(`webhook: ${reply.statusCode} ${reply.body}`);
  return reply.json() as { received: boolean; duplicate: boolean };
}

export type Invoice = Stripe.Invoice;
