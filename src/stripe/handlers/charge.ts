import type Stripe from 'stripe';
import type { EventHandlers, HandlerDeps } from './index.js';

/**
 * A payment gone back to the customer takes its credits back: each refund and each dispute's
 * withdrawal once, whatever the order and however often Stripe delivers; a refund that fails, or a
 * dispute won, gives them back, once (payment-reversals.ts).
 */
export function chargeHandlers({ reversals }: HandlerDeps): EventHandlers {
  return {
    'charge.refunded': (event) => reversals.onChargeRefunded(event.data.object as Stripe.Charge),
    'charge.dispute.funds_withdrawn': (event) => reversals.onDisputeFundsWithdrawn(event.data.object as Stripe.Dispute),
    'charge.dispute.funds_reinstated': (event) => reversals.onDisputeFundsReinstated(event.data.object as Stripe.Dispute),
    'charge.dispute.closed': (event) => reversals.onDisputeClosed(event.data.object as Stripe.Dispute),
    'refund.failed': (event) => reversals.onRefundChanged(event.data.object as Stripe.Refund),
    'refund.updated': (event) => reversals.onRefundChanged(event.data.object as Stripe.Refund),
  };
}
