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

/**
 * The pack quantity the metadata names: a whole number from 1 to 2^31 - 1, or undefined when it is
 * absent or was edited into something else. It only describes the purchase (`tally_credits` is what is
 * granted), so an unreadable one never stops a paid session's grant.
 */
export function quantityOf(meta: CheckoutMetadata): number | undefined {
  const quantity = Number(meta.tally_quantity);
  return /^[1-9]\d{0,9}$/.test(meta.tally_quantity ?? '') && quantity <= 2 ** 31 - 1 ? quantity : undefined;
}

export function isPaid(session: Pick<Stripe.Checkout.Session, 'payment_status'>): boolean {
  return session.payment_status === 'paid' || session.payment_status === 'no_payment_required';
}
