import type Stripe from 'stripe';
import { ValidationFailure } from '../../errors.js';
import { callStripe } from '../../stripe/call-stripe.js';
import type { TallyInstance } from '../../stripe/tally-instance.js';
import { productIdOf, remadeKeySuffix, retrieveStripePrice } from '../catalog/catalog-item.js';

export type PlanInterval = 'month' | 'year';

export interface PlanPriceTerms {
  unitAmount: number;
  currency: string;
  interval: PlanInterval;
}

export interface StripePlanPrice extends PlanPriceTerms {
  productId: string;
  priceId: string;
}

/**
 * A plan's own Product and recurring Price. The idempotency keys derive from the plan id, so a
 * retried create reuses what the first attempt made; `remadeFrom` is the price Stripe does not know
 * that they replace, if any.
 */
export async function createPlanProductAndPrice(
  stripe: Stripe,
  instance: TallyInstance,
  planId: string,
  input: { name: string; description?: string | null } & PlanPriceTerms,
  remadeFrom?: string,
): Promise<StripePlanPrice> {
  const params = { name: input.name, ...(input.description ? { description: input.description } : {}), metadata: { tally_plan_id: planId } };
  const product = await callStripe('create the product', () =>
    instance.keyed(`plan-${planId}-product${remadeKeySuffix(remadeFrom)}`, params, (idempotencyKey) => stripe.products.create(params, { idempotencyKey })),
  );
  return createPlanPrice(stripe, instance, planId, product.id, input, { remadeFrom });
}

/**
 * A new recurring Price on the plan's product: Stripe prices are immutable. The key names the price
 * it replaces (`replacing`), so a change back to earlier terms makes a new price rather than being
 * handed the earlier one, which the change away from it deactivated.
 */
export async function createPlanPrice(
  stripe: Stripe,
  instance: TallyInstance,
  planId: string,
  productId: string,
  terms: PlanPriceTerms,
  { replacing, remadeFrom }: { replacing?: string; remadeFrom?: string } = {},
): Promise<StripePlanPrice> {
  const params = { product: productId, unit_amount: terms.unitAmount, currency: terms.currency, recurring: { interval: terms.interval }, metadata: { tally_plan_id: planId } };
  const key = `plan-${planId}-price-${terms.currency}-${terms.unitAmount}-${terms.interval}${replacing ? `-replacing-${replacing}` : ''}${remadeKeySuffix(remadeFrom)}`;
  const price = await callStripe('create the price', () => instance.keyed(key, params, (idempotencyKey) => stripe.prices.create(params, { idempotencyKey })));
  return { productId, priceId: price.id, ...terms };
}

/** A recurring price managed in the Dashboard, checked to be one a plan can sell. */
export async function adoptPlanPrice(stripe: Stripe, priceId: string): Promise<StripePlanPrice> {
  const price = await retrieveStripePrice(stripe, priceId);
  const recurring = price.recurring;
  if (!recurring) throw new ValidationFailure('invalid_request', 'A plan needs a recurring price; this one is one-time', { field: 'stripePriceId' });
  if ((recurring.interval !== 'month' && recurring.interval !== 'year') || recurring.interval_count !== 1) {
    throw new ValidationFailure('invalid_request', 'A plan renews every month or every year; this price does not', { field: 'stripePriceId' });
  }
  // Billed for usage after each period, and taking no quantity in Checkout: not a period's credits paid ahead.
  if (recurring.usage_type === 'metered') {
    throw new ValidationFailure('invalid_request', 'A plan is paid ahead for each period; this price is metered (billed for usage afterwards)', { field: 'stripePriceId' });
  }
  return { productId: productIdOf(price), priceId: price.id, unitAmount: price.unit_amount, currency: price.currency, interval: recurring.interval as PlanInterval };
}
