import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { cancelSubscription } from '../billing/cancel-subscription.js';
import type { SimulatorContext } from '../context.js';
import { emitEvent } from '../events/emit-event.js';
import { expandObject } from '../http/expand.js';
import { expand, int, list, metadata, pagination, range, str } from '../http/form-schemas.js';
import { matchesRange } from '../http/paginate.js';
import { listResponse } from '../http/list-response.js';
import { parseParams } from '../http/parse-params.js';
import { found } from '../http/stripe-error.js';
import { newId } from '../ids.js';
import type { Customer } from '../stripe-objects.js';
import { mergeMetadata, newMetadata } from './merge-metadata.js';

const fields = {
  description: str.optional(),
  email: str.optional(),
  name: str.optional(),
  phone: str.optional(),
  metadata: metadata.optional(),
  preferred_locales: list(str).optional(),
  payment_method: str.optional(),
  balance: int.optional(),
  expand,
};
const createParams = z.strictObject(fields);
const updateParams = z.strictObject({ ...fields, default_source: str.optional() });
const listParams = z.strictObject({ ...pagination, email: str.optional(), created: range.optional() });
const retrieveParams = z.strictObject({ expand });

export function getCustomer(ctx: SimulatorContext, id: string, param = 'id'): Customer {
  return found(ctx.store.customers, 'customer', id, param);
}

export function createCustomer(ctx: SimulatorContext, params: z.infer<typeof createParams>): Customer {
  const customer: Customer = {
    id: newId('cus_', 14),
    object: 'customer',
    address: null,
    balance: params.balance ?? 0,
    created: ctx.clock.now(),
    currency: null,
    default_source: null,
    delinquent: false,
    description: params.description || null,
    email: params.email || null,
    invoice_prefix: newId('', 8).toUpperCase(),
    invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
    livemode: false,
    metadata: newMetadata(params.metadata),
    name: params.name || null,
    next_invoice_sequence: 1,
    phone: params.phone || null,
    preferred_locales: params.preferred_locales ?? [],
    shipping: null,
    tax_exempt: 'none',
    test_clock: null,
  };
  ctx.store.customers.set(customer.id, customer);
  return customer;
}

export function customerRoutes(app: FastifyInstance, ctx: SimulatorContext): void {
  app.post('/v1/customers', async (request) => {
    const params = parseParams(createParams, request.body);
    return expandObject(ctx.store, createCustomer(ctx, params), params.expand);
  });

  app.get<{ Params: { id: string } }>('/v1/customers/:id', async (request) => {
    const params = parseParams(retrieveParams, request.query);
    if (ctx.store.deletedCustomers.has(request.params.id)) return deleted(request.params.id);
    return expandObject(ctx.store, getCustomer(ctx, request.params.id), params.expand);
  });

  app.post<{ Params: { id: string } }>('/v1/customers/:id', async (request) => {
    const params = parseParams(updateParams, request.body);
    const customer = getCustomer(ctx, request.params.id);
    if (params.email !== undefined) customer.email = params.email || null;
    if (params.name !== undefined) customer.name = params.name || null;
    if (params.description !== undefined) customer.description = params.description || null;
    if (params.phone !== undefined) customer.phone = params.phone || null;
    if (params.balance !== undefined) customer.balance = params.balance;
    if (params.preferred_locales !== undefined) customer.preferred_locales = params.preferred_locales;
    customer.metadata = mergeMetadata(customer.metadata, params.metadata);
    return expandObject(ctx.store, customer, params.expand);
  });

  // As in the Dashboard: gone for every use (a checkout, a portal session: "No such customer"), its
  // live subscriptions canceled at once, customer.deleted sent; a retrieve answers it as deleted.
  app.delete<{ Params: { id: string } }>('/v1/customers/:id', async (request) => {
    const customer = getCustomer(ctx, request.params.id);
    for (const subscription of ctx.store.subscriptions.values()) {
      if (subscription.customer === customer.id && subscription.status !== 'canceled') cancelSubscription(ctx, subscription);
    }
    ctx.store.customers.delete(customer.id);
    ctx.store.deletedCustomers.add(customer.id);
    emitEvent(ctx, 'customer.deleted', customer);
    return deleted(customer.id);
  });

  app.get('/v1/customers', async (request) => {
    const params = parseParams(listParams, request.query);
    const matching = [...ctx.store.customers.values()].filter(
      (customer) =>
        (params.email === undefined || customer.email === params.email) && matchesRange(customer.created, params.created),
    );
    return listResponse(ctx.store, matching, params, '/v1/customers');
  });
}

const deleted = (id: string) => ({ id, object: 'customer', deleted: true });
