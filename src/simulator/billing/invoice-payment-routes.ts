import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SimulatorContext } from '../context.js';
import { expandObject } from '../http/expand.js';
import { expand, pagination, range, str } from '../http/form-schemas.js';
import { matchesRange } from '../http/paginate.js';
import { listResponse } from '../http/list-response.js';
import { parseParams } from '../http/parse-params.js';
import { found } from '../http/stripe-error.js';

/** stripe-node sends `payment: { type, payment_intent }` as `payment[type]=...&payment[payment_intent]=...`. */
const listParams = z.strictObject({
  ...pagination,
  invoice: str.optional(),
  payment: z.strictObject({
    type: z.enum(['payment_intent', 'payment_record']),
    payment_intent: str.optional(),
    payment_record: str.optional(),
  }).optional(),
  status: z.enum(['canceled', 'open', 'paid']).optional(),
  created: range.optional(),
});
const retrieveParams = z.strictObject({ expand });

export function invoicePaymentRoutes(app: FastifyInstance, ctx: SimulatorContext): void {
  app.get<{ Params: { id: string } }>('/v1/invoice_payments/:id', async (request) => {
    const params = parseParams(retrieveParams, request.query);
    return expandObject(ctx.store, found(ctx.store.invoicePayments, 'invoice_payment', request.params.id), params.expand);
  });

  app.get('/v1/invoice_payments', async (request) => {
    const params = parseParams(listParams, request.query);
    const wanted = params.payment;
    const matching = [...ctx.store.invoicePayments.values()].filter(
      (payment) =>
        (params.invoice === undefined || payment.invoice === params.invoice) &&
        (wanted === undefined || payment.payment.type === wanted.type) &&
        (wanted?.payment_intent === undefined || payment.payment.payment_intent === wanted.payment_intent) &&
        (params.status === undefined || payment.status === params.status) &&
        matchesRange(payment.created, params.created),
    );
    return listResponse(ctx.store, matching, params, '/v1/invoice_payments');
  });
}
