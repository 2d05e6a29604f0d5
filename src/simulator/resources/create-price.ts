import type { SimulatorContext } from '../context.js';
import { invalidRequest } from '../http/stripe-error.js';
import { newId } from '../ids.js';
import type { Interval, Price } from '../stripe-objects.js';
import { newMetadata } from './merge-metadata.js';
import { createProduct, getProduct } from './product-routes.js';

export interface PriceInput {
  currency: string;
  unit_amount?: number | undefined;
  unit_amount_decimal?: string | undefined;
  product?: string | undefined;
  product_data?: { name: string; metadata?: Record<string, string> | null | undefined; [key: string]: unknown } | undefined;
  recurring?: { interval: Interval; interval_count?: number | undefined; trial_period_days?: number | undefined; usage_type?: 'licensed' | 'metered' | undefined } | undefined;
  metadata?: Record<string, string> | null | undefined;
  active?: boolean | undefined;
  nickname?: string | undefined;
  lookup_key?: string | undefined;
  transfer_lookup_key?: boolean | undefined;
  tax_behavior?: 'inclusive' | 'exclusive' | 'unspecified' | undefined;
  transform_quantity?: { divide_by: number; round: 'up' | 'down' } | undefined;
}

/** What `quantity` units of a price cost, as Stripe bills them: the quantity divided first when the price says so. */
export function priceAmount(price: Price, quantity: number): number {
  const transform = price.transform_quantity;
  if (!transform) return price.unit_amount * quantity;
  const units = quantity / transform.divide_by;
  return price.unit_amount * (transform.round === 'up' ? Math.ceil(units) : Math.floor(units));
}

/** Shared by `POST /v1/prices` and inline `price_data`; `prefix` names params in errors. */
export function createPrice(ctx: SimulatorContext, input: PriceInput, prefix = ''): Price {
  const param = (name: string) => (prefix ? `${prefix}[${name}]` : name);
  if (input.product && input.product_data) {
    throw invalidRequest(`You may only specify one of these parameters: ${param('product')}, ${param('product_data')}.`, param('product_data'));
  }
  if (!input.product && !input.product_data) {
    throw invalidRequest(`Missing required param: ${param('product')}.`, param('product'), 'parameter_missing');
  }
  const unitAmount = input.unit_amount ?? (input.unit_amount_decimal ? Math.round(Number(input.unit_amount_decimal)) : undefined);
  if (unitAmount === undefined || Number.isNaN(unitAmount)) {
    throw invalidRequest(`Missing required param: ${param('unit_amount')}.`, param('unit_amount'), 'parameter_missing');
  }
  if (unitAmount < 0) throw invalidRequest('This value must be greater than or equal to 0.', param('unit_amount'));
  if (!/^[a-z]{3}$/.test(input.currency.toLowerCase())) {
    throw invalidRequest(`Invalid currency: ${input.currency}.`, param('currency'));
  }
  if (input.transform_quantity && input.transform_quantity.divide_by < 1) {
    throw invalidRequest('This value must be greater than or equal to 1.', param('transform_quantity[divide_by]'));
  }
  if ((input.recurring?.interval_count ?? 1) < 1) {
    throw invalidRequest('Invalid recurring[interval_count]: must be at least 1', param('recurring[interval_count]'));
  }
  const product = input.product
    ? getProduct(ctx, input.product, param('product'))
    : createProduct(ctx, input.product_data as { name: string }, param('product_data'));
  claimLookupKey(ctx, input, param('lookup_key'));
  const price: Price = {
    id: newId('price_'),
    object: 'price',
    active: input.active ?? true,
    billing_scheme: 'per_unit',
    created: ctx.clock.now(),
    currency: input.currency.toLowerCase(),
    custom_unit_amount: null,
    livemode: false,
    lookup_key: input.lookup_key || null,
    metadata: newMetadata(input.metadata),
    nickname: input.nickname || null,
    product: product.id,
    recurring: input.recurring
      ? {
          interval: input.recurring.interval,
          interval_count: input.recurring.interval_count ?? 1,
          meter: null,
          trial_period_days: input.recurring.trial_period_days ?? null,
          usage_type: input.recurring.usage_type ?? 'licensed',
        }
      : null,
    tax_behavior: input.tax_behavior ?? 'unspecified',
    tiers_mode: null,
    transform_quantity: input.transform_quantity ?? null,
    type: input.recurring ? 'recurring' : 'one_time',
    unit_amount: unitAmount,
    unit_amount_decimal: String(unitAmount),
  };
  ctx.store.prices.set(price.id, price);
  return price;
}

/** Lookup keys are unique; `transfer_lookup_key` moves one from its current price. */
export function claimLookupKey(
  ctx: SimulatorContext, input: Pick<PriceInput, 'lookup_key' | 'transfer_lookup_key'>, param: string, ownerId?: string,
): void {
  if (!input.lookup_key) return;
  for (const other of ctx.store.prices.values()) {
    if (other.lookup_key !== input.lookup_key || other.id === ownerId) continue;
    if (!input.transfer_lookup_key) {
      throw invalidRequest(`A price (\`${other.id}\`) already uses that lookup key.`, param);
    }
    other.lookup_key = null;
  }
}
