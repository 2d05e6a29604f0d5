import type { SimulatorContext } from '../context.js';
import { emitEvent } from '../events/emit-event.js';
import { invalidRequest, noSuch } from '../http/stripe-error.js';
import { newId } from '../ids.js';
import { newMetadata } from '../resources/merge-metadata.js';
import type { Charge, Refund, RefundReason } from '../stripe-objects.js';
import { chargeOfPaymentIntent, getCharge } from './charge-routes.js';

export interface RefundInput {
  charge?: string | undefined;
  payment_intent?: string | undefined;
  amount?: number | undefined;
  reason?: RefundReason | undefined;
  metadata?: Record<string, string> | null | undefined;
}

/**
 * Refunds a succeeded charge, in full or in part, as Stripe does for cards: the refund succeeds at
 * once, then `refund.created` and `charge.refunded` are sent, in that order.
 */
export function refundCharge(ctx: SimulatorContext, input: RefundInput): Refund {
  const charge = chargeToRefund(ctx, input);
  const remaining = charge.amount - charge.amount_refunded;
  if (remaining === 0) throw invalidRequest(`Charge ${charge.id} has already been refunded.`, undefined, 'charge_already_refunded');
  const amount = input.amount ?? remaining;
  if (amount < 1) throw invalidRequest('Invalid positive integer', 'amount', 'parameter_invalid_integer');
  if (amount > remaining) {
    throw invalidRequest(
      `Refund amount (${amount}) is greater than unrefunded amount on charge (${remaining})`, 'amount', 'amount_too_large',
    );
  }

  const refund: Refund = {
    id: newId('re_'),
    object: 'refund',
    amount,
    balance_transaction: null,
    charge: charge.id,
    created: ctx.clock.now(),
    currency: charge.currency,
    customer: charge.customer,
    customer_account: null,
    metadata: newMetadata(input.metadata),
    payment_intent: charge.payment_intent,
    payment_method: charge.payment_method,
    reason: input.reason ?? null,
    receipt_number: null,
    source_transfer_reversal: null,
    status: 'succeeded',
    transfer_reversal: null,
  };
  ctx.store.refunds.set(refund.id, refund);
  const previous = { amount_refunded: charge.amount_refunded, refunded: charge.refunded };
  charge.amount_refunded += amount;
  charge.refunded = charge.amount_refunded === charge.amount;
  emitEvent(ctx, 'refund.created', refund);
  emitEvent(ctx, 'charge.refunded', charge, charge.refunded === previous.refunded ? { amount_refunded: previous.amount_refunded } : previous);
  return refund;
}

function chargeToRefund(ctx: SimulatorContext, input: RefundInput): Charge {
  if (input.charge !== undefined && input.payment_intent !== undefined) {
    throw invalidRequest('You may only specify one of these parameters: charge, payment_intent.', 'payment_intent');
  }
  let charge: Charge | undefined;
  if (input.charge !== undefined) charge = getCharge(ctx, input.charge, 'charge');
  else if (input.payment_intent !== undefined) {
    charge = chargeOfPaymentIntent(ctx, input.payment_intent);
    if (!charge) throw noSuch('payment_intent', input.payment_intent, 'payment_intent');
  } else {
    throw invalidRequest('One of the following params should be provided for this request: charge or payment_intent.', undefined, 'parameter_missing');
  }
  if (charge.disputed) throw invalidRequest(`Charge ${charge.id} has been charged back; cannot issue a refund.`, undefined, 'charge_disputed');
  if (charge.status !== 'succeeded') {
    throw invalidRequest(`Charge ${charge.id} cannot be refunded because its status is ${charge.status}.`, undefined, 'charge_not_refundable');
  }
  return charge;
}
