import type { FastifyBaseLogger as Logger } from 'fastify';
import type Stripe from 'stripe';
import { ConflictFailure, ValidationFailure } from '../../errors.js';
import { newId, requestId } from '../../lib/ids.js';
import { callStripe, isMissingStripeObject, unlessMissing } from '../../stripe/call-stripe.js';

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
 * A new item's id: from `requestKey` (the client's Idempotency-Key) and the request (requestId),
 * and the id fixes Stripe's idempotency keys: a retried create reuses the Product and Price the
 * first attempt made.
 */
export function catalogItemId(prefix: 'pack' | 'plan', requestKey: string | undefined, input: object): string {
  return requestKey ? requestId(prefix, requestKey, input) : newId(prefix);
}

/** A price managed in the Dashboard, read to be adopted; an unknown one is the client's mistake. */
export async function retrieveStripePrice(stripe: Stripe, priceId: string): Promise<Stripe.Price & { unit_amount: number }> {
  const price = await callStripe('read the price', () => stripe.prices.retrieve(priceId)).catch((error) => {
    if (error?.code === 'stripe_invalid_request') throw new ValidationFailure('unknown_stripe_price', `Stripe has no price '${priceId}'`, { field: 'stripePriceId' });
    throw error;
  });
  if (price.unit_amount === null) throw new ValidationFailure('invalid_request', 'The price has no fixed unit amount', { field: 'stripePriceId' });
  // Tally grants credits per unit sold, at unit_amount each: a price that charges otherwise (tiers, or
  // a quantity divided before billing) would be paid one amount and recorded as another.
  if (price.billing_scheme !== 'per_unit' || price.transform_quantity) {
    throw new ValidationFailure('invalid_request', 'The price does not charge its unit amount per unit (tiered, or with transform_quantity): Tally sells only per-unit prices', { field: 'stripePriceId' });
  }
  // Checkout sells only active prices: an archived one adopted would make every checkout of the item a 502.
  if (!price.active) throw new ValidationFailure('invalid_request', 'The price is archived in Stripe, and Checkout sells only active prices', { field: 'stripePriceId' });
  return price as Stripe.Price & { unit_amount: number };
}

/**
 * A Stripe price sells one item: adopting one that another pack or plan sells (named by `ownerId`,
 * when one does) is a 409, found before Stripe is asked for anything, or from the unique violation
 * when two adoptions race.
 */
export function checkPriceFree(kind: 'pack' | 'plan', priceId: string, itemId: string, ownerId: string | undefined): void {
  if (ownerId !== undefined && ownerId !== itemId) throw priceInUse(kind, priceId);
}

export function priceInUse(kind: 'pack' | 'plan', priceId: string): ConflictFailure {
  return new ConflictFailure('price_in_use', `Stripe price ${priceId} already belongs to another ${kind}`, { stripePriceId: priceId });
}

export function productIdOf(price: Stripe.Price): string {
  return typeof price.product === 'string' ? price.product : price.product.id;
}

/** What a pack's and a plan's rows share of their Stripe price. */
interface PricedRow {
  id: string;
  managedPrice: boolean;
  stripePriceId: string;
}

/**
 * Runs `use` (a checkout, a change of plan) with the item's row. A price Stripe does not know (made
 * under another key: test mode before live, the built-in simulator before its objects were kept)
 * would fail every checkout of the item for good. A price Tally made is made again, once, with a new
 * product (`remake`); a price managed in the Dashboard is the operator's to replace: a 409 says so.
 */
export async function withItemPrice<Row extends PricedRow, T>(kind: 'pack' | 'plan', row: Row, remake: (row: Row) => Promise<Row>, use: (row: Row) => Promise<T>): Promise<T> {
  try {
    return await use(row);
  } catch (error) {
    if (!isMissingStripeObject(error, 'price')) throw error;
    if (!row.managedPrice) {
      throw new ConflictFailure('stripe_price_missing', `Stripe has no price '${row.stripePriceId}', which ${kind} ${row.id} sells (made under another Stripe key?): give the ${kind} a stripePriceId of this Stripe account`, {
        [`${kind}Id`]: row.id,
        stripePriceId: row.stripePriceId,
      });
    }
    return use(await remake(row));
  }
}

/**
 * The end of the Stripe idempotency key of a product or price made again for an item whose price
 * `remadeFrom` Stripe does not know: it names that price (and `stripeKey` what is sent), so a
 * checkout and a price change remaking the same item at once each get their own objects, and a retry
 * the same ones.
 */
export function remadeKeySuffix(remadeFrom: string | undefined): string {
  return remadeFrom ? `-remade-from-${remadeFrom}` : '';
}

/**
 * A new price on the item's product, or, when Stripe does not know the product (made under another
 * key), a new product with it (`remake`).
 */
export async function priceOnProduct<P>(productId: string, create: (productId: string) => Promise<P>, remake: () => Promise<P>): Promise<P> {
  return (await unlessMissing('product', () => create(productId))) ?? remake();
}

/**
 * Deactivates the price a new one replaces, once the new one is saved: until then the item sells the
 * old one, whatever fails on the way. A price Stripe does not know has nothing to deactivate. One
 * Stripe fails to deactivate is left active and logged, not refused: the item sells the new price
 * already, and a PATCH sent again would find nothing left to change.
 */
export async function deactivateReplacedPrice(stripe: Stripe, priceId: string, logger: Logger): Promise<void> {
  await unlessMissing('price', () => callStripe('deactivate the old price', () => stripe.prices.update(priceId, { active: false }))).catch((error: unknown) => {
    logger.warn({ err: error, stripePriceId: priceId }, 'a replaced price is still active at Stripe (nothing of Tally\'s sells it): archive it in the Dashboard');
  });
}

/**
 * Carries a change of name, description or active flag to the item's own Stripe Product. A product
 * Stripe does not know is left: the next checkout makes it again, from the item as it is then.
 */
export async function updateManagedProduct(
  stripe: Stripe,
  row: { managedPrice: boolean; stripeProductId: string | null },
  input: Partial<CatalogItemInput>,
): Promise<void> {
  if (!row.managedPrice || !row.stripeProductId) return;
  if (input.name === undefined && input.description === undefined && input.active === undefined) return;
  const productId = row.stripeProductId;
  await unlessMissing('product', () =>
    callStripe('update the product', () =>
      stripe.products.update(productId, {
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.description !== undefined ? { description: input.description ?? '' } : {}),
        ...(input.active !== undefined ? { active: input.active } : {}),
      }),
    ),
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
