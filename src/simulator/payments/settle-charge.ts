import type { SimulatorContext } from '../context.js';
import { chargeOutcome } from './create-charge.js';
import { chargeOfPaymentIntent } from './charge-routes.js';

/**
 * The bank's answer to a pending debit: the charge succeeds, or fails as a returned debit. A payment
 * intent without a pending charge has no debit in flight.
 */
export function settleCharge(ctx: SimulatorContext, paymentIntent: string | null, succeeded: boolean): void {
  const charge = paymentIntent ? chargeOfPaymentIntent(ctx, paymentIntent) : undefined;
  if (charge?.status !== 'pending') throw new Error(`No bank debit in flight for ${paymentIntent}`);
  charge.status = succeeded ? 'succeeded' : 'failed';
  charge.paid = succeeded;
  charge.outcome = chargeOutcome(charge.status);
  if (!succeeded) {
    charge.failure_code = 'insufficient_funds';
    charge.failure_message = "The customer's account has insufficient funds to cover this payment.";
  }
}
