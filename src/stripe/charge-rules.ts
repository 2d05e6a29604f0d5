import { ValidationFailure } from '../errors.js';
import { CHARGE_STEP, MAXIMUM_CHARGE, MINIMUM_CHARGE, STRIPE_CURRENCIES } from './stripe-currencies.js';

/**
 * Stripe's rules on what it charges, checked before Stripe is asked, so that a bill, a pack or a
 * plan Stripe would refuse (or could never sell) is a 400 naming the field, with the simulator as
 * with Stripe. `currency` is lowercase.
 */
export function checkCurrency(currency: string): void {
  if (!STRIPE_CURRENCIES.has(currency)) {
    throw new ValidationFailure('invalid_currency', `Stripe does not support the currency '${currency}'`, { field: 'currency' });
  }
}

/** A one-off charge of `amount` (minor units): a supported currency, in the steps Stripe charges it, within Stripe's minimum and maximum. */
export function checkChargeAmount(amount: number, currency: string, field = 'amount'): void {
  checkCurrency(currency);
  if (!Number.isSafeInteger(amount) || amount <= 0) {
    throw new ValidationFailure('invalid_amount', `${field} must be a positive integer in the currency's minor units`, { field });
  }
  checkChargeStep(amount, currency, field);
  const minimum = MINIMUM_CHARGE[currency];
  if (minimum !== undefined && amount < minimum) {
    throw new ValidationFailure('amount_too_small', `Stripe's minimum charge in ${currency.toUpperCase()} is ${minimum} (minor units); got ${amount}`, { field, minimum });
  }
  if (amount > MAXIMUM_CHARGE) {
    throw new ValidationFailure('amount_too_large', `Stripe's largest charge is ${MAXIMUM_CHARGE} (minor units); got ${amount}`, { field, maximum: MAXIMUM_CHARGE });
  }
}

/** An amount Stripe will charge in `currency` (a recurring price's too): ISK in whole krónur, three-decimal currencies ending in 0. */
export function checkChargeStep(amount: number, currency: string, field = 'amount'): void {
  const step = CHARGE_STEP[currency];
  if (step !== undefined && amount % step !== 0) {
    throw new ValidationFailure('invalid_amount', `Stripe charges ${currency.toUpperCase()} only in multiples of ${step} (minor units); got ${amount}`, { field, multipleOf: step });
  }
}
