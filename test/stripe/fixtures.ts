import { eventually, key, type TestApp } from '../helper.js';
import { settled } from '../subscriptions/fixtures.js';

/** An account and a 500-credit pack for $5, created through the API. */
export async function accountAndPack(ctx: TestApp, accountId = 'acct_buyer') {
  const account = await ctx.call('PUT', `/v1/accounts/${accountId}`, { email: `${accountId}@example.com`, name: 'Buyer' });
  const pack = await ctx.call('POST', '/v1/packs', { name: 'Starter', credits: 500, unitAmount: 500, currency: 'usd' }, { 'idempotency-key': key('pack') });
  if (pack.status !== 201) throw new Error(`pack: ${JSON.stringify(pack.body)}`);
  return { account: account.body, pack: pack.body };
}

export async function openCheckout(ctx: TestApp, accountId: string, packId: string, extra: Record<string, unknown> = {}) {
  const reply = await ctx.call('POST', '/v1/checkout/sessions', { accountId, packId, ...extra }, { key: ctx.serviceKey });
  if (reply.status !== 201) throw new Error(`checkout: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body as { id: string; url: string; expiresAt: string };
}

/** A pack of 500 credits for $5.00 bought and paid by card, its webhooks delivered: the session's charge, and the grant it made. */
export async function paidPack(ctx: TestApp) {
  const { pack } = await accountAndPack(ctx);
  const checkout = await openCheckout(ctx, 'acct_buyer', pack.id);
  await ctx.simulator.pay(checkout.id);
  await settled(ctx);
  const session = await ctx.stripe.checkout.sessions.retrieve(checkout.id);
  const charges = await ctx.stripe.charges.list({ payment_intent: session.payment_intent as string });
  const [grant] = await grantsOf(ctx, 'acct_buyer');
  return { checkoutId: checkout.id, paymentIntent: session.payment_intent as string, charge: charges.data[0]!, grantId: grant.id as string };
}

export async function grantsOf(ctx: TestApp, accountId: string) {
  const { rows } = await ctx.database.pool.query('SELECT id, source, source_key, amount FROM grants WHERE account_id = $1', [accountId]);
  return rows;
}

/** Delivers a signed event (see signedEvent) to Tally's webhook route, through the HTTP stack. */
export function postEvent(ctx: TestApp, event: { payload: string; header: string }) {
  return ctx.app.inject({ method: 'POST', url: '/v1/webhooks/stripe', payload: event.payload, headers: { 'content-type': 'application/json', 'stripe-signature': event.header } });
}

/** A checkout session for a pack, paid in the simulator; the app under test is not told (it does not listen). */
export async function paidSession(ctx: TestApp) {
  const { pack } = await accountAndPack(ctx);
  const checkout = await openCheckout(ctx, 'acct_buyer', pack.id);
  await ctx.simulator.pay(checkout.id);
  return ctx.stripe.checkout.sessions.retrieve(checkout.id);
}

/** A paid pack session as a webhook carries it, made up (Stripe never saw it): `credits` for `accountId`. */
export function madeUpPackSession(id: string, accountId: string, credits: number) {
  return {
    id,
    object: 'checkout.session',
    mode: 'payment',
    status: 'complete',
    payment_status: 'paid',
    amount_total: credits * 10,
    currency: 'usd',
    url: null,
    expires_at: Math.floor(Date.now() / 1000) + 86_400,
    metadata: { tally_account_id: accountId, tally_kind: 'pack', tally_credits: String(credits), tally_quantity: '1' },
  };
}

/** A hold on acct_buyer through the API, with the service key: its id. */
export async function holdCredits(ctx: TestApp, amount: number, expiresInSeconds?: number): Promise<string> {
  const reply = await ctx.call('POST', '/v1/accounts/acct_buyer/holds', { amount, expiresInSeconds }, { 'idempotency-key': key('hold'), key: ctx.serviceKey });
  if (reply.status !== 201) throw new Error(`hold: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body.id;
}

/** Waits until the hold's expiresAt has passed (by this process's clock, which Tally's is). */
export async function pastExpiry(ctx: TestApp, holdId: string): Promise<void> {
  const { expiresAt } = (await ctx.call('GET', `/v1/holds/${holdId}`)).body as { expiresAt: string };
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(expiresAt) - Date.now()) + 100));
}

export const releaseHold = (ctx: TestApp, holdId: string) => ctx.call('POST', `/v1/holds/${holdId}/release`, {}, { key: ctx.serviceKey });
export const captureHold = (ctx: TestApp, holdId: string, amount: number) => ctx.call('POST', `/v1/holds/${holdId}/capture`, { amount }, { key: ctx.serviceKey });

/**
 * The stored event once its first processing is over (a failure leaves it `failed`, to be retried),
 * and whether a warning named it: what an event that can never be acted on should end as.
 */
export async function firstOutcome(ctx: TestApp, eventId: string) {
  const row = await eventually(async () => (await ctx.database.pool.query("SELECT status, attempts, last_error FROM stripe_events WHERE id = $1 AND status <> 'pending'", [eventId])).rows[0]);
  const warned = ctx.logs.some((line) => JSON.parse(line).level === 40 && line.includes(`"eventId":"${eventId}"`) && line.includes('processed as nothing to do'));
  return { status: row.status as string, attempts: row.attempts as number, lastError: row.last_error as string | null, warned };
}
