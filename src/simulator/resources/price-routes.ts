import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SimulatorContext } from '../context.js';
import { expandObject } from '../http/expand.js';
import { bool, expand, int, list, metadata, pagination, range, str } from '../http/form-schemas.js';
import { matchesRange } from '../http/paginate.js';
import { listResponse } from '../http/list-response.js';
import { parseParams } from '../http/parse-params.js';
import { found } from '../http/stripe-error.js';
import type { Price } from '../stripe-objects.js';
import { claimLookupKey, createPrice } from './create-price.js';
import { mergeMetadata } from './merge-metadata.js';

export const interval = z.enum(['day', 'week', 'month', 'year']);
const taxBehavior = z.enum(['inclusive', 'exclusive', 'unspecified']);

const createParams = z.strictObject({
  currency: str,
  unit_amount: int.optional(),
  unit_amount_decimal: str.optional(),
  product: str.optional(),
  product_data: z.strictObject({
    name: str, active: bool.optional(), id: str.optional(), metadata: metadata.optional(),
    statement_descriptor: str.optional(), tax_code: str.optional(), unit_label: str.optional(),
  }).optional(),
  recurring: z.strictObject({
    interval, interval_count: int.optional(), trial_period_days: int.optional(),
    usage_type: z.enum(['licensed', 'metered']).optional(),
  }).optional(),
  metadata: metadata.optional(),
  active: bool.optional(),
  nickname: str.optional(),
  lookup_key: str.optional(),
  transfer_lookup_key: bool.optional(),
  tax_behavior: taxBehavior.optional(),
  billing_scheme: z.literal('per_unit').optional(),
  transform_quantity: z.strictObject({ divide_by: int, round: z.enum(['up', 'down']) }).optional(),
  expand,
});
const updateParams = z.strictObject({
  active: bool.optional(),
  metadata: metadata.optional(),
  nickname: str.optional(),
  lookup_key: str.optional(),
  transfer_lookup_key: bool.optional(),
  tax_behavior: taxBehavior.optional(),
  expand,
});
const listParams = z.strictObject({
  ...pagination,
  active: bool.optional(),
  product: str.optional(),
  currency: str.optional(),
  type: z.enum(['one_time', 'recurring']).optional(),
  lookup_keys: list(str).optional(),
  recurring: z.strictObject({ interval: interval.optional(), usage_type: z.enum(['licensed', 'metered']).optional() }).optional(),
  created: range.optional(),
});
const retrieveParams = z.strictObject({ expand });

export function getPrice(ctx: SimulatorContext, id: string, param = 'id'): Price {
  return found(ctx.store.prices, 'price', id, param);
}

function matches(price: Price, params: z.infer<typeof listParams>): boolean {
  return (
    (params.active === undefined || price.active === params.active) &&
    (params.product === undefined || price.product === params.product) &&
    (params.currency === undefined || price.currency === params.currency) &&
    (params.type === undefined || price.type === params.type) &&
    (params.lookup_keys === undefined || params.lookup_keys.includes(price.lookup_key ?? '')) &&
    (params.recurring?.interval === undefined || price.recurring?.interval === params.recurring.interval) &&
    matchesRange(price.created, params.created)
  );
}

export function priceRoutes(app: FastifyInstance, ctx: SimulatorContext): void {
  app.post('/v1/prices', async (request) => {
    const params = parseParams(createParams, request.body);
    return expandObject(ctx.store, createPrice(ctx, params), params.expand);
  });

  app.get<{ Params: { id: string } }>('/v1/prices/:id', async (request) => {
    const params = parseParams(retrieveParams, request.query);
    return expandObject(ctx.store, getPrice(ctx, request.params.id), params.expand);
  });

  app.post<{ Params: { id: string } }>('/v1/prices/:id', async (request) => {
    const params = parseParams(updateParams, request.body);
    const price = getPrice(ctx, request.params.id);
    if (params.lookup_key !== undefined) {
      claimLookupKey(ctx, params, 'lookup_key', price.id);
      price.lookup_key = params.lookup_key || null;
    }
    if (params.active !== undefined) price.active = params.active;
    if (params.nickname !== undefined) price.nickname = params.nickname || null;
    if (params.tax_behavior !== undefined) price.tax_behavior = params.tax_behavior;
    price.metadata = mergeMetadata(price.metadata, params.metadata);
    return expandObject(ctx.store, price, params.expand);
  });

  app.get('/v1/prices', async (request) => {
    const params = parseParams(listParams, request.query);
    const matching = [...ctx.store.prices.values()].filter((price) => matches(price, params));
    return listResponse(ctx.store, matching, params, '/v1/prices');
  });
}
