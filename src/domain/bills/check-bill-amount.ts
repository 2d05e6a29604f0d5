import { ValidationFailure } from '../../errors.js';
import { MAXIMUM_CHARGE, MINIMUM_CHARGE, STRIPE_CURRENCIES } from './stripe-currencies.js';

/** Refuses, before Stripe is asked, an amount or currency Stripe would refuse. `currency` is lowercase. */
export function checkBillAmount(amount: number, currency: string): void {
  if (!STRIPE_CURRENCIES.has(currency)) {
    throw new ValidationFailure('invalid_currency', `Stripe does not support the currency '${currency}'`, { field: 'currency' });
  }
  if (!Number.isSafeInteger(amount) || amount <= 0) {
    throw new ValidationFailure('invalid_amount', 'amount must be a positive integer in the currency\'s minor units', { field: 'amount' });
  }
  const minimum = MINIMUM_CHARGE[currency];
  if (minimum !== undefined && amount < minimum) {
    throw new ValidationFailure('amount_too_small', `Stripe's minimum charge in ${currency.toUpperCase()} is ${minimum} (minor units); got ${amount}`, { field: 'amount', minimum });
  }
  if (amount > MAXIMUM_CHARGE) {
    throw new ValidationFailure('amount_too_large', `Stripe's largest charge is ${MAXIMUM_CHARGE} (minor units); got ${amount}`, { field: 'amount', maximum: MAXIMUM_CHARGE });
  }
}

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
