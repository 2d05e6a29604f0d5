import { createHash } from 'node:crypto';
import type Stripe from 'stripe';
import { ValidationFailure } from '../../errors.js';
import { newId } from '../../lib/ids.js';
import { callStripe } from '../../stripe/call-stripe.js';

/**
 * What packs and plans share as Tally keeps them: an item of the catalogue, sold through a Stripe
 * Product and Price, with a name, description, credits and an active flag.
 */
export interface CatalogItemInput {
  name: string;
  credits: number;
  description?: string | null;
  active?: boolean;
}

/**
 * A new item's id. `requestKey` (the client's Idempotency-Key) fixes it, and the id fixes Stripe's
 * idempotency keys: a retried create reuses the Product and Price the first attempt made.
 */
export function catalogItemId(prefix: 'pack' | 'plan', requestKey?: string): string {
  return requestKey ? `${prefix}_${createHash('sha256').update(requestKey).digest('base64url').slice(0, 20)}` : newId(prefix);
}

/** A price managed in the Dashboard, read to be adopted; an unknown one is the client's mistake. */
export async function retrieveStripePrice(stripe: Stripe, priceId: string): Promise<Stripe.Price & { unit_amount: number }> {
  const price = await callStripe('read the price', () => stripe.prices.retrieve(priceId)).catch((error) => {
    if (error?.code === 'stripe_invalid_request') throw new ValidationFailure('unknown_stripe_price', `Stripe has no price '${priceId}'`, { field: 'stripePriceId' });
    throw error;
  });
  if (price.unit_amount === null) throw new ValidationFailure('invalid_request', 'The price has no fixed unit amount', { field: 'stripePriceId' });
  return price as Stripe.Price & { unit_amount: number };
}

export function productIdOf(price: Stripe.Price): string {
  return typeof price.product === 'string' ? price.product : price.product.id;
}

/** Carries a change of name, description or active flag to the item's own Stripe Product. */
export async function updateManagedProduct(
  stripe: Stripe,
  row: { managedPrice: boolean; stripeProductId: string | null },
  input: Partial<CatalogItemInput>,
): Promise<void> {
  if (!row.managedPrice || !row.stripeProductId) return;
  if (input.name === undefined && input.description === undefined && input.active === undefined) return;
  const productId = row.stripeProductId;
  await callStripe('update the product', () =>
    stripe.products.update(productId, {
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.description !== undefined ? { description: input.description ?? '' } : {}),
      ...(input.active !== undefined ? { active: input.active } : {}),
    }),
  );
}

/** The columns an update of the item's own fields writes (only those given). */
export function catalogItemChanges(input: Partial<CatalogItemInput>) {
  return {
    ...(input.name !== undefined ? { name: input.name } : {}),
    ...(input.description !== undefined ? { description: input.description } : {}),
    ...(input.credits !== undefined ? { credits: BigInt(input.credits) } : {}),
    ...(input.active !== undefined ? { active: input.active } : {}),
  };
}
