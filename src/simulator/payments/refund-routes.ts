import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SimulatorContext } from '../context.js';
import { expandObject } from '../http/expand.js';
import { expand, int, metadata, pagination, range, str } from '../http/form-schemas.js';
import { matchesRange } from '../http/paginate.js';
import { listResponse } from '../http/list-response.js';
import { parseParams } from '../http/parse-params.js';
import { found } from '../http/stripe-error.js';
import type { Refund } from '../stripe-objects.js';
import { refundCharge } from './refund-charge.js';

const createParams = z.strictObject({
  charge: str.optional(),
  payment_intent: str.optional(),
  amount: int.optional(),
  reason: z.enum(['duplicate', 'fraudulent', 'requested_by_customer']).optional(),
  metadata: metadata.optional(),
  expand,
});
const listParams = z.strictObject({
  ...pagination,
  charge: str.optional(),
  payment_intent: str.optional(),
  created: range.optional(),
});
const retrieveParams = z.strictObject({ expand });

export function refundRoutes(app: FastifyInstance, ctx: SimulatorContext): void {
  app.post('/v1/refunds', async (request) => {
    const params = parseParams(createParams, request.body);
    return expandObject(ctx.store, refundCharge(ctx, params), params.expand);
  });

  app.get<{ Params: { id: string } }>('/v1/refunds/:id', async (request) => {
    const params = parseParams(retrieveParams, request.query);
    return expandObject(ctx.store, getRefund(ctx, request.params.id), params.expand);
  });

  app.get('/v1/refunds', async (request) => {
    const params = parseParams(listParams, request.query);
    const matching = [...ctx.store.refunds.values()].filter(
      (refund) =>
        (params.charge === undefined || refund.charge === params.charge) &&
        (params.payment_intent === undefined || refund.payment_intent === params.payment_intent) &&
        matchesRange(refund.created, params.created),
    );
    return listResponse(ctx.store, matching, params, '/v1/refunds');
  });
}

export function getRefund(ctx: SimulatorContext, id: string): Refund {
  return found(ctx.store.refunds, 'refund', id);
}
