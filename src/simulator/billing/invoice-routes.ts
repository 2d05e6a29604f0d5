import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SimulatorContext } from '../context.js';
import { expandObject } from '../http/expand.js';
import { expand, pagination, range, str } from '../http/form-schemas.js';
import { matchesRange } from '../http/paginate.js';
import { listResponse } from '../http/list-response.js';
import { parseParams } from '../http/parse-params.js';
import { found } from '../http/stripe-error.js';
import type { Invoice } from '../stripe-objects.js';

const listParams = z.strictObject({
  ...pagination,
  customer: str.optional(),
  subscription: str.optional(),
  status: z.enum(['draft', 'open', 'paid', 'uncollectible', 'void']).optional(),
  collection_method: z.enum(['charge_automatically', 'send_invoice']).optional(),
  created: range.optional(),
});
const retrieveParams = z.strictObject({ expand });
const linesParams = z.strictObject({ ...pagination });
type WithId = { Params: { id: string } };

function getInvoice(ctx: SimulatorContext, id: string): Invoice {
  return found(ctx.store.invoices, 'invoice', id);
}

export function invoiceRoutes(app: FastifyInstance, ctx: SimulatorContext): void {
  app.get<WithId>('/v1/invoices/:id', async (request) => {
    const params = parseParams(retrieveParams, request.query);
    return expandObject(ctx.store, getInvoice(ctx, request.params.id), params.expand);
  });

  app.get<WithId>('/v1/invoices/:id/lines', async (request) => {
    const params = parseParams(linesParams, request.query);
    const invoice = getInvoice(ctx, request.params.id);
    return listResponse(ctx.store, [...invoice.lines.data].reverse(), params, invoice.lines.url);
  });

  app.get('/v1/invoices', async (request) => {
    const params = parseParams(listParams, request.query);
    const matching = [...ctx.store.invoices.values()].filter(
      (invoice) =>
        (params.customer === undefined || invoice.customer === params.customer) &&
        (params.subscription === undefined || invoice.parent?.subscription_details.subscription === params.subscription) &&
        (params.status === undefined || invoice.status === params.status) &&
        (params.collection_method === undefined || invoice.collection_method === params.collection_method) &&
        matchesRange(invoice.created, params.created),
    );
    return listResponse(ctx.store, matching, params, '/v1/invoices');
  });
}
