import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SimulatorContext } from '../context.js';
import { expandObject } from '../http/expand.js';
import { expand, pagination, range, str } from '../http/form-schemas.js';
import { matchesRange } from '../http/paginate.js';
import { listResponse } from '../http/list-response.js';
import { parseParams } from '../http/parse-params.js';
import { found } from '../http/stripe-error.js';
import type { Charge } from '../stripe-objects.js';

const listParams = z.strictObject({
  ...pagination,
  customer: str.optional(),
  payment_intent: str.optional(),
  transfer_group: str.optional(),
  created: range.optional(),
});
const retrieveParams = z.strictObject({ expand });

export function getCharge(ctx: SimulatorContext, id: string, param = 'id'): Charge {
  return found(ctx.store.charges, 'charge', id, param);
}

/** A simulated PaymentIntent is confirmed once, so it has at most one charge. */
export function chargeOfPaymentIntent(ctx: SimulatorContext, paymentIntent: string): Charge | undefined {
  return [...ctx.store.charges.values()].find((charge) => charge.payment_intent === paymentIntent);
}

export function chargeRoutes(app: FastifyInstance, ctx: SimulatorContext): void {
  app.get<{ Params: { id: string } }>('/v1/charges/:id', async (request) => {
    const params = parseParams(retrieveParams, request.query);
    return expandObject(ctx.store, getCharge(ctx, request.params.id), params.expand);
  });

  app.get('/v1/charges', async (request) => {
    const params = parseParams(listParams, request.query);
    const matching = [...ctx.store.charges.values()].filter(
      (charge) =>
        (params.customer === undefined || charge.customer === params.customer) &&
        (params.payment_intent === undefined || charge.payment_intent === params.payment_intent) &&
        (params.transfer_group === undefined || charge.transfer_group === params.transfer_group) &&
        matchesRange(charge.created, params.created),
    );
    return listResponse(ctx.store, matching, params, '/v1/charges');
  });
}
