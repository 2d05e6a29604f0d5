import Stripe from 'stripe';
import { RequestInProgressFailure, StripeRefusedFailure, TallyError, ThirdPartyFailure, ValidationFailure } from '../errors.js';

/**
 * Runs a Stripe call and turns its failures into Tally's: the client learns whether Stripe refused
 * our credentials, was unreachable, limited us or failed, without a stack trace or our secret.
 */
export async function callStripe<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw translateStripeError(what, error);
  }
}

/**
 * A retrieval that Stripe may answer with `resource_missing`: the object was made under another key or
 * account (test mode against live, a rotated account), so it can never be seen, paid or changed from
 * here. Undefined then; every other failure is thrown as `callStripe` throws it.
 */
export async function retrieveFromStripe<T>(what: string, call: () => Promise<T>): Promise<T | undefined> {
  return callStripe(what, call).catch((error) => {
    if (error?.details?.stripeCode === 'resource_missing') return undefined;
    throw error;
  });
}

/**
 * Stripe's "No such <kind>", as `callStripe` throws it: the object was made under another key (test
 * mode before live, the built-in simulator before a restart) or deleted, and never will be seen here.
 */
export function isMissingStripeObject(error: unknown, kind: 'customer' | 'invoice' | 'price' | 'product' | 'subscription'): boolean {
  if (!(error instanceof TallyError) || error.details?.stripeCode !== 'resource_missing') return false;
  return error.details.param === kind || error.message.includes(`No such ${kind}`);
}

/** What `call` (Stripe's, through `callStripe`) answers, or undefined when Stripe does not know the `kind` object it names. */
export async function unlessMissing<T>(kind: Parameters<typeof isMissingStripeObject>[1], call: () => Promise<T>): Promise<T | undefined> {
  return call().catch((error) => {
    if (isMissingStripeObject(error, kind)) return undefined;
    throw error;
  });
}

export function translateStripeError(what: string, error: unknown): Error {
  if (!(error instanceof Stripe.errors.StripeError)) return error as Error;
  const details = { stripeCode: error.code ?? null, stripeType: error.type, requestId: error.requestId ?? null };
  if (error instanceof Stripe.errors.StripeAuthenticationError || error instanceof Stripe.errors.StripePermissionError) {
    return new ThirdPartyFailure('stripe_authentication_failed', `Stripe refused Tally's API key while trying to ${what}`, details);
  }
  if (error instanceof Stripe.errors.StripeRateLimitError) {
    return new ThirdPartyFailure('stripe_rate_limited', `Stripe is rate limiting requests; could not ${what}, try again shortly`, details, true);
  }
  if (error instanceof Stripe.errors.StripeConnectionError) {
    return new ThirdPartyFailure('stripe_unreachable', `Stripe could not be reached or did not answer in time; could not ${what}`, details, true);
  }
  // Stripe's own answer to a request under a key whose first request it is still answering (its SDK
  // retried it meanwhile, as STRIPE_MAX_RETRIES allows): not a failure of Stripe's.
  if (error.statusCode === 409 && error.rawType === 'idempotency_error') return new RequestInProgressFailure(what, details);
  if (error instanceof Stripe.errors.StripeInvalidRequestError) {
    if (error.param === 'currency') return new ValidationFailure('invalid_currency', `Stripe does not accept this currency: ${error.message}`, { field: 'currency' });
    if (error.code === 'amount_too_small' || error.code === 'amount_too_large') {
      return new ValidationFailure(error.code, `Stripe refused the amount: ${error.message}`, { field: 'amount' });
    }
    if (error.code === 'invalid_charge_amount_no_decimal_compatible') {
      return new ValidationFailure('invalid_amount', `Stripe refused the amount: ${error.message}`, { field: 'amount' });
    }
    return new StripeRefusedFailure(what, error.message, { ...details, param: error.param ?? null });
  }
  return new ThirdPartyFailure('stripe_error', `Stripe failed while trying to ${what} (status ${error.statusCode ?? 'unknown'})`, details);
}
