import Stripe from 'stripe';

/**
 * Whether an event's object has the shapes Tally reads: those of the API version the SDK pins. A
 * webhook endpoint renders its events in its own API version, or the account's default one
 * (https://docs.stripe.com/webhooks/versioning), whatever version Tally's requests ask for. Within one
 * major release (`….endive`) Stripe makes no breaking change; across them fields move (2025-03-31.basil
 * moved `invoice.subscription` to `invoice.parent.subscription_details.subscription`, a line's price to
 * `pricing.price_details.price`, and a subscription's period onto its items).
 */
export function hasPinnedShapes(event: Pick<Stripe.Event, 'api_version'>): boolean {
  return event.api_version?.split('.')[1] === Stripe.MAJOR_API_VERSION;
}
