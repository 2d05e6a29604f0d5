import type Stripe from 'stripe';
import { callStripe } from '../../stripe/call-stripe.js';
import type { TallyInstance } from '../../stripe/tally-instance.js';
import type { CheckoutMetadata } from '../checkout/checkout-metadata.js';
import { checkoutExpiresAt } from './checkout-lifetime.js';

export interface BillCheckoutInput {
  billId: string;
  /** Which checkout of the bill this is (0 for the first); part of the idempotency key. */
  attempt: number;
  accountId: string;
  customer: string;
  name: string;
  description: string | null;
  amount: number;
  currency: string;
  credits: number | null;
  expiresInSeconds: number;
  successUrl: string;
  cancelUrl: string;
}

/**
 * A payment-mode Checkout for a bill: an inline price for its amount, on the account's customer,
 * with metadata that leads every event about it back to the bill. The idempotency key derives from
 * the bill, the attempt, `expires_at` and the customer, so the SDK's retries reuse the session and a
 * later retry with a different expiry (or a customer made again: withCustomer) cannot collide with it.
 */
export async function openBillCheckout(stripe: Stripe, instance: TallyInstance, input: BillCheckoutInput): Promise<Stripe.Checkout.Session> {
  const expiresAt = checkoutExpiresAt(Math.floor(Date.now() / 1000), input.expiresInSeconds);
  const metadata: CheckoutMetadata & { tally_bill_name: string } = {
    tally_account_id: input.accountId,
    tally_kind: 'bill',
    tally_credits: String(input.credits ?? 0),
    tally_bill_id: input.billId,
    tally_bill_name: input.name.slice(0, 500),
    ...instance.stamp,
  };
  return callStripe('create the checkout session', () =>
    stripe.checkout.sessions.create(
      {
        mode: 'payment',
        customer: input.customer,
        client_reference_id: input.accountId,
        line_items: [
          {
            quantity: 1,
            price_data: {
              currency: input.currency,
              unit_amount: input.amount,
              product_data: { name: input.name, ...(input.description ? { description: input.description } : {}) },
            },
          },
        ],
        expires_at: expiresAt,
        success_url: input.successUrl,
        cancel_url: input.cancelUrl,
        metadata: { ...metadata },
        payment_intent_data: { metadata: { ...metadata }, description: input.name },
      },
      { idempotencyKey: instance.stripeKey(`bill-${input.billId}-checkout-${input.attempt}-${expiresAt}-${input.customer}`) },
    ),
  );
}
