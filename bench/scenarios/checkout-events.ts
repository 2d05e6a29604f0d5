import { randomBytes } from 'node:crypto';

/** A Checkout Session the bench pretends a customer paid. */
export interface PaidSession {
  id: string;
  accountId: string;
  credits: number;
}

export type CheckoutEventType = 'checkout.session.completed' | 'checkout.session.async_payment_succeeded';

/**
 * A Stripe event about a paid session, shaped as Tally reads it (src/domain/checkout): the account and
 * the credits travel in the session's metadata, exactly as Tally wrote them when it opened the session.
 * The only place that knows the payload: change it here when Tally reads something else.
 */
export function checkoutSessionEvent(type: CheckoutEventType, session: PaidSession, createdSeconds: number): Record<string, unknown> {
  const metadata = { tally_account_id: session.accountId, tally_kind: 'pack', tally_credits: String(session.credits), tally_quantity: '1' };
  return {
    id: `evt_bench_${randomBytes(12).toString('hex')}`,
    object: 'event',
    api_version: '2025-01-27.acacia',
    created: createdSeconds,
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
    data: {
      object: {
        id: session.id,
        object: 'checkout.session',
        mode: 'payment',
        status: 'complete',
        payment_status: 'paid',
        amount_total: session.credits * 10,
        currency: 'usd',
        client_reference_id: session.accountId,
        customer: null,
        url: null,
        created: createdSeconds - 60,
        expires_at: createdSeconds + 86_400,
        metadata,
        payment_intent: `pi_bench_${randomBytes(12).toString('hex')}`,
      },
    },
  };
}
