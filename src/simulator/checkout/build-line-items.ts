import type { SimulatorContext } from '../context.js';
import { invalidRequest } from '../http/stripe-error.js';
import { newId } from '../ids.js';
import { createPrice, priceAmount } from '../resources/create-price.js';
import { newMetadata } from '../resources/merge-metadata.js';
import type { CheckoutLineItem, Price } from '../stripe-objects.js';
import type { CreateSessionParams, LineItemParams } from './checkout-session-params.js';

export function buildLineItems(ctx: SimulatorContext, params: CreateSessionParams): CheckoutLineItem[] {
  const items = (params.line_items ?? []).map((item, index) => buildLineItem(ctx, item, `line_items[${index}]`));
  const recurring = items.filter((item) => item.price.recurring);
  if (params.mode === 'payment' && recurring.length > 0) {
    throw invalidRequest(
      'You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only one-time prices.',
      'line_items',
    );
  }
  if (params.mode === 'subscription' && recurring.length === 0) {
    throw invalidRequest('You must provide at least one recurring price in `subscription` mode when using prices.', 'line_items');
  }
  const intervals = new Set(recurring.map((item) => `${item.price.recurring?.interval}/${item.price.recurring?.interval_count}`));
  if (intervals.size > 1) {
    throw invalidRequest('Checkout does not support multiple prices with different billing intervals.', 'line_items');
  }
  if (new Set(items.map((item) => item.currency)).size > 1) {
    throw invalidRequest('All prices must be in the same currency.', 'line_items');
  }
  return items;
}

function buildLineItem(ctx: SimulatorContext, item: LineItemParams, prefix: string): CheckoutLineItem {
  if (item.price && item.price_data) {
    throw invalidRequest(`You may only specify one of these parameters: ${prefix}[price], ${prefix}[price_data].`, `${prefix}[price_data]`);
  }
  const price = resolvePrice(ctx, item, prefix);
  // As Stripe: a metered price bills the usage reported afterwards, so Checkout takes no quantity for it.
  // (Nor does the simulator sell one without: it bills no usage.)
  if (price.recurring?.usage_type === 'metered' && item.quantity !== undefined) {
    throw invalidRequest(`Quantity should not be specified where usage_type is \`metered\`. Remove quantity from \`${prefix}\`.`, `${prefix}[quantity]`);
  }
  if (item.quantity === undefined) {
    throw invalidRequest(`Missing required param: ${prefix}[quantity].`, `${prefix}[quantity]`, 'parameter_missing');
  }
  if (item.quantity < 1) throw invalidRequest('Quantity must be at least 1.', `${prefix}[quantity]`);
  const product = ctx.store.products.get(price.product);
  const amount = priceAmount(price, item.quantity);
  return {
    id: newId('li_'),
    object: 'item',
    adjustable_quantity: null,
    amount_discount: 0,
    amount_subtotal: amount,
    amount_tax: 0,
    amount_total: amount,
    currency: price.currency,
    description: product?.name ?? '',
    metadata: newMetadata(item.metadata),
    price,
    quantity: item.quantity,
  };
}

function resolvePrice(ctx: SimulatorContext, item: LineItemParams, prefix: string): Price {
  if (item.price_data) {
    // Inline prices exist only for this session, so they are created inactive.
    return createPrice(ctx, { ...item.price_data, active: false }, `${prefix}[price_data]`);
  }
  if (!item.price) {
    throw invalidRequest(`Missing required param: ${prefix}[price].`, `${prefix}[price]`, 'parameter_missing');
  }
  const price = ctx.store.prices.get(item.price);
  if (!price) throw invalidRequest(`No such price: '${item.price}'`, `${prefix}[price]`, 'resource_missing');
  if (!price.active) {
    throw invalidRequest('The price specified is inactive. This field only accepts active prices.', `${prefix}[price]`);
  }
  return price;
}
