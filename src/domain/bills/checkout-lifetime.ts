import { ValidationFailure } from '../../errors.js';

/** Stripe's bounds on a Checkout Session's life: 30 minutes to 24 hours after it is created. */
export const MIN_CHECKOUT_SECONDS = 30 * 60;
export const MAX_CHECKOUT_SECONDS = 24 * 60 * 60;
/** Kept off both bounds so a clock a little apart from Stripe's cannot push the request outside them. */
const CLOCK_MARGIN_SECONDS = 60;

export function checkCheckoutLifetime(seconds: number): void {
  if (!Number.isInteger(seconds) || seconds < MIN_CHECKOUT_SECONDS || seconds > MAX_CHECKOUT_SECONDS) {
    throw new ValidationFailure('invalid_expiry', `expiresInSeconds must be between ${MIN_CHECKOUT_SECONDS} and ${MAX_CHECKOUT_SECONDS} (Stripe's limits for a checkout)`, { field: 'expiresInSeconds' });
  }
}

/** The `expires_at` (unix seconds) to send for a checkout meant to last `seconds`. */
export function checkoutExpiresAt(nowSeconds: number, seconds: number): number {
  checkCheckoutLifetime(seconds);
  const lifetime = Math.min(Math.max(seconds, MIN_CHECKOUT_SECONDS + CLOCK_MARGIN_SECONDS), MAX_CHECKOUT_SECONDS - CLOCK_MARGIN_SECONDS);
  return nowSeconds + lifetime;
}
