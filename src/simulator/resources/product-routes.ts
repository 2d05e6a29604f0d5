import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SimulatorContext } from '../context.js';
import { expandObject } from '../http/expand.js';
import { bool, expand, list, metadata, pagination, range, str } from '../http/form-schemas.js';
import { matchesRange } from '../http/paginate.js';
import { listResponse } from '../http/list-response.js';
import { parseParams } from '../http/parse-params.js';
import { invalidRequest, found, noSuch } from '../http/stripe-error.js';
import { newId } from '../ids.js';
import type { Product } from '../stripe-objects.js';
import { mergeMetadata, newMetadata } from './merge-metadata.js';

const editable = {
  active: bool.optional(),
  description: str.optional(),
  images: list(str).optional(),
  metadata: metadata.optional(),
  statement_descriptor: str.optional(),
  tax_code: str.optional(),
  unit_label: str.optional(),
  url: str.optional(),
  expand,
};
const createParams = z.strictObject({ ...editable, name: str, id: str.optional(), type: z.enum(['good', 'service']).optional(), shippable: bool.optional() });
const updateParams = z.strictObject({ ...editable, name: str.optional(), default_price: str.optional() });
const listParams = z.strictObject({ ...pagination, active: bool.optional(), created: range.optional(), ids: list(str).optional() });
const retrieveParams = z.strictObject({ expand });

export type ProductInput = { name: string; id?: string | undefined; active?: boolean | undefined; description?: string | undefined; metadata?: Record<string, string> | null | undefined; unit_label?: string | undefined; images?: string[] | undefined; tax_code?: string | undefined; statement_descriptor?: string | undefined };

export function getProduct(ctx: SimulatorContext, id: string, param = 'id'): Product {
  return found(ctx.store.products, 'product', id, param);
}

export function createProduct(ctx: SimulatorContext, params: ProductInput, param = 'id'): Product {
  if (params.id && ctx.store.products.has(params.id)) {
    throw invalidRequest(`Product already exists.`, param, 'resource_already_exists');
  }
  const now = ctx.clock.now();
  const product: Product = {
    id: params.id || newId('prod_', 14),
    object: 'product',
    active: params.active ?? true,
    created: now,
    default_price: null,
    description: params.description || null,
    images: params.images ?? [],
    livemode: false,
    marketing_features: [],
    metadata: newMetadata(params.metadata),
    name: params.name,
    package_dimensions: null,
    shippable: null,
    statement_descriptor: params.statement_descriptor || null,
    tax_code: params.tax_code || null,
    type: 'service',
    unit_label: params.unit_label || null,
    updated: now,
    url: null,
  };
  ctx.store.products.set(product.id, product);
  return product;
}

export function productRoutes(app: FastifyInstance, ctx: SimulatorContext): void {
  app.post('/v1/products', async (request) => {
    const params = parseParams(createParams, request.body);
    const product = createProduct(ctx, params);
    if (params.type) product.type = params.type;
    if (params.shippable !== undefined) product.shippable = params.shippable;
    if (params.url) product.url = params.url;
    return expandObject(ctx.store, product, params.expand);
  });

  app.get<{ Params: { id: string } }>('/v1/products/:id', async (request) => {
    const params = parseParams(retrieveParams, request.query);
    return expandObject(ctx.store, getProduct(ctx, request.params.id), params.expand);
  });

  app.post<{ Params: { id: string } }>('/v1/products/:id', async (request) => {
    const params = parseParams(updateParams, request.body);
    const product = getProduct(ctx, request.params.id);
    if (params.default_price !== undefined) {
      const price = ctx.store.prices.get(params.default_price);
      if (!price || price.product !== product.id) throw noSuch('price', params.default_price, 'default_price');
      product.default_price = price.id;
    }
    if (params.name !== undefined) product.name = params.name;
    if (params.active !== undefined) product.active = params.active;
    if (params.description !== undefined) product.description = params.description || null;
    if (params.images !== undefined) product.images = params.images;
    if (params.unit_label !== undefined) product.unit_label = params.unit_label || null;
    if (params.url !== undefined) product.url = params.url || null;
    product.metadata = mergeMetadata(product.metadata, params.metadata);
    product.updated = ctx.clock.now();
    return expandObject(ctx.store, product, params.expand);
  });

  app.get('/v1/products', async (request) => {
    const params = parseParams(listParams, request.query);
    const matching = [...ctx.store.products.values()].filter(
      (product) =>
        (params.active === undefined || product.active === params.active) &&
        (params.ids === undefined || params.ids.includes(product.id)) &&
        matchesRange(product.created, params.created),
    );
    return listResponse(ctx.store, matching, params, '/v1/products');
  });
}
