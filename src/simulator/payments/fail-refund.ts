import type { SimulatorContext } from '../context.js';
import { emitEvent } from '../events/emit-event.js';
import { invalidRequest } from '../http/stripe-error.js';
import type { Refund } from '../stripe-objects.js';
import { getCharge } from './charge-routes.js';

/**
 * The card's bank could not take a refund back (a closed card, days after the refund): the money
 * stays with the merchant. As Stripe does, the refund becomes `failed` with a `failure_reason`, the
 * charge's `amount_refunded` goes back down, and `refund.failed` and `charge.refund.updated` are sent.
 */
export function failRefund(ctx: SimulatorContext, refund: Refund, failureReason = 'expired_or_canceled_card'): Refund {
  if (refund.status !== 'succeeded') throw invalidRequest(`Refund ${refund.id} is ${refund.status}; only a succeeded refund can fail.`);
  const charge = getCharge(ctx, refund.charge, 'charge');
  refund.status = 'failed';
  refund.failure_reason = failureReason;
  charge.amount_refunded -= refund.amount;
  charge.refunded = false;
  emitEvent(ctx, 'refund.failed', refund, { status: 'succeeded' });
  emitEvent(ctx, 'charge.refund.updated', refund, { status: 'succeeded' });
  return refund;
}
