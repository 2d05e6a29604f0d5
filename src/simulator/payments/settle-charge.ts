import type { SimulatorContext } from '../context.js';
import { chargeOutcome } from './create-charge.js';
import { chargeOfPaymentIntent } from './charge-routes.js';

/** The bank's answer to a pending debit: the charge succeeds, or fails as a returned debit. */
export function settleCharge(ctx: SimulatorContext, paymentIntent: string, succeeded: boolean): void {
  const charge = chargeOfPaymentIntent(ctx, paymentIntent);
  if (charge?.status !== 'pending') return;
  charge.status = succeeded ? 'succeeded' : 'failed';
  charge.paid = succeeded;
  charge.outcome = chargeOutcome(charge.status);
  if (!succeeded) {
    charge.failure_code = 'insufficient_funds';
    charge.failure_message = "The customer's account has insufficient funds to cover this payment.";
  }
}
