import type Stripe from 'stripe';
import { UnusableStripeObjectFailure } from '../../errors.js';
import { MAX_AMOUNT } from '../ledger/types.js';
import { quantityOf, type CheckoutMetadata } from './checkout-metadata.js';

/** What a checkout sells and to whom: Tally's record of it, or (for a session it has no record of) the session's metadata. */
export interface CheckoutPurchase {
  accountId: string;
  kind: CheckoutMetadata['tally_kind'];
  packId: string | null;
  planId: string | null;
  billId: string | null;
  quantity: number;
  credits: bigint;
}

/** The purchase a `checkouts` row records: what Tally wrote when it opened the session. */
export function recordedPurchase(row: Omit<CheckoutPurchase, 'kind'> & { kind: string }): CheckoutPurchase {
  return {
    accountId: row.accountId,
    // A text column, written only by Tally's own checkouts (or, for a session it did not record, from its tally_kind).
    kind: row.kind as CheckoutPurchase['kind'],
    packId: row.packId,
    planId: row.planId,
    billId: row.billId,
    quantity: row.quantity,
    credits: row.credits,
  };
}

/**
 * The purchase a session's metadata names. Credits no grant can hold can never be granted, however
 * often asked: such a session is unusable, as one whose credits are no number.
 */
export function purchaseInMetadata(sessionId: string, meta: CheckoutMetadata): CheckoutPurchase {
  if (!/^\d+$/.test(meta.tally_credits ?? '')) {
    throw new UnusableStripeObjectFailure(`Checkout session ${sessionId} has tally_credits that is not a whole number`, { checkoutSessionId: sessionId });
  }
  if (BigInt(meta.tally_credits) > BigInt(MAX_AMOUNT)) {
    throw new UnusableStripeObjectFailure(`Checkout session ${sessionId} has tally_credits over ${MAX_AMOUNT}, the most one grant holds`, { checkoutSessionId: sessionId });
  }
  return {
    accountId: meta.tally_account_id,
    kind: meta.tally_kind,
    packId: meta.tally_pack_id ?? null,
    planId: meta.tally_plan_id ?? null,
    billId: meta.tally_bill_id ?? null,
    quantity: quantityOf(meta) ?? 1,
    credits: BigInt(meta.tally_credits),
  };
}

/** The metadata whose value at Stripe is not what Tally recorded (all of it, when the metadata was removed): each key's two values, to be logged. */
export function editedMetadata(session: Pick<Stripe.Checkout.Session, 'metadata'>, purchase: CheckoutPurchase): Record<string, { recorded: string | null; atStripe: string | null }> {
  const recorded = metadataOf(purchase);
  const meta = session.metadata ?? {};
  const edited = (Object.keys(recorded) as Array<keyof typeof recorded>).filter((key) => meta[key] !== recorded[key]);
  return Object.fromEntries(edited.map((key) => [key, { recorded: recorded[key] ?? null, atStripe: meta[key] ?? null }]));
}

/** The session with the metadata Tally recorded in place of its own, for the services that read it (a bill's payment). */
export function withRecordedMetadata(session: Stripe.Checkout.Session, purchase: CheckoutPurchase): Stripe.Checkout.Session {
  const metadata: Record<string, string> = { ...session.metadata };
  for (const [key, value] of Object.entries(metadataOf(purchase))) {
    if (value === undefined) delete metadata[key];
    else metadata[key] = value;
  }
  return { ...session, metadata };
}

function metadataOf(purchase: CheckoutPurchase) {
  return {
    tally_account_id: purchase.accountId,
    tally_kind: purchase.kind,
    tally_credits: String(purchase.credits),
    tally_pack_id: purchase.packId ?? undefined,
    tally_plan_id: purchase.planId ?? undefined,
    tally_bill_id: purchase.billId ?? undefined,
  };
}
