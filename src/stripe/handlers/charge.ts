import type Stripe from 'stripe';
import type { EventHandlers, HandlerDeps } from './index.js';

/**
 * A payment gone back to the customer takes its credits back: each refund and each lost dispute once,
 * whatever the order and however often Stripe delivers; a refund that fails gives them back, once
 * (payment-reversals.ts).
 */
export function chargeHandlers({ reversals }: HandlerDeps): EventHandlers {
  return {
    'charge.refunded': (event) => reversals.onChargeRefunded(event.data.object as Stripe.Charge),
    'charge.dispute.closed': (event) => reversals.onDisputeClosed(event.data.object as Stripe.Dispute),
    'refund.failed': (event) => reversals.onRefundChanged(event.data.object as Stripe.Refund),
    'refund.updated': (event) => reversals.onRefundChanged(event.data.object as Stripe.Refund),
  };
}
