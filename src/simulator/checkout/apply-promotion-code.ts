import type { CheckoutLineItem, CheckoutSession } from '../stripe-objects.js';

/**
 * A promotion code the customer typed on the checkout page, taking `amountOff` (minor units) off
 * what the session charges, as Stripe shows it: each line item's `amount_discount` (the first items
 * first, none below zero), the session's `total_details.amount_discount`, and `amount_total` lowered.
 * Stripe offers the field only on a session created with `allow_promotion_codes`; the simulator takes
 * codes for payment-mode sessions only (a subscription's discount would follow it into its invoices).
 */
export function applyPromotionCode(session: CheckoutSession, lineItems: CheckoutLineItem[], amountOff: number): string | undefined {
  if (!session.allow_promotion_codes) return 'This Checkout Session does not accept promotion codes.';
  if (session.mode !== 'payment') return 'Promotion codes are simulated for payment-mode sessions only.';
  if (!Number.isInteger(amountOff) || amountOff < 1 || amountOff > session.amount_total) return 'This promotion code does not apply to this order.';
  let left = amountOff;
  for (const item of lineItems) {
    const off = Math.min(left, item.amount_total);
    item.amount_discount += off;
    item.amount_total -= off;
    left -= off;
  }
  session.total_details = { ...session.total_details, amount_discount: session.total_details.amount_discount + amountOff };
  session.amount_total -= amountOff;
  return undefined;
}
