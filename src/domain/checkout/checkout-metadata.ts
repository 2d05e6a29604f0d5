import type Stripe from 'stripe';

/** What Tally writes into a Checkout Session's metadata so that any event about it leads back here. */
export interface CheckoutMetadata {
  tally_account_id: string;
  tally_kind: 'pack' | 'subscription' | 'bill';
  tally_credits: string;
  tally_pack_id?: string;
  tally_quantity?: string;
  tally_plan_id?: string;
  tally_bill_id?: string;
  /** The Tally that made the session (TallyInstance); absent on sessions made before Tally stamped them. */
  tally_instance?: string;
}

export function readCheckoutMetadata(session: Pick<Stripe.Checkout.Session, 'metadata'>): CheckoutMetadata | undefined {
  const meta = session.metadata ?? {};
  if (!meta.tally_account_id || !meta.tally_kind) return undefined;
  return meta as unknown as CheckoutMetadata;
}

export function isPaid(session: Pick<Stripe.Checkout.Session, 'payment_status'>): boolean {
  return session.payment_status === 'paid' || session.payment_status === 'no_payment_required';
}
