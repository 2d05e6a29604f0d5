import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SimulatorContext } from '../context.js';
import { expandObject } from '../http/expand.js';
import { bool, expand, list, pagination, range, str } from '../http/form-schemas.js';
import { matchesRange } from '../http/paginate.js';
import { listResponse } from '../http/list-response.js';
import { parseParams } from '../http/parse-params.js';
import { invalidRequest, found } from '../http/stripe-error.js';
import type { StripeEvent } from '../stripe-objects.js';

const listParams = z.strictObject({
  ...pagination,
  type: str.optional(),
  types: list(str).optional(),
  created: range.optional(),
  delivery_success: bool.optional(),
});
const retrieveParams = z.strictObject({ expand });

/** `type` may end in `*` (`invoice.*`), like Stripe's event filters. */
function typeMatches(pattern: string, type: string): boolean {
  return pattern.endsWith('*') ? type.startsWith(pattern.slice(0, -1)) : pattern === type;
}

export function eventRoutes(app: FastifyInstance, ctx: SimulatorContext): void {
  app.get('/v1/events', async (request) => {
    const params = parseParams(listParams, request.query);
    if (params.type !== undefined && params.types !== undefined) {
      throw invalidRequest('You may only specify one of these parameters: type, types.', 'types');
    }
    const matching = [...ctx.store.events.values()].filter(
      (event: StripeEvent) =>
        (params.type === undefined || typeMatches(params.type, event.type)) &&
        (params.types === undefined || params.types.some((type) => typeMatches(type, event.type))) &&
        (params.delivery_success === undefined || ctx.delivery.isPending(event.id) !== params.delivery_success) &&
        matchesRange(event.created, params.created),
    );
    return listResponse(ctx.store, matching, params, '/v1/events');
  });

  app.get<{ Params: { id: string } }>('/v1/events/:id', async (request) => {
    const params = parseParams(retrieveParams, request.query);
    return expandObject(ctx.store, found(ctx.store.events, 'event', request.params.id), params.expand);
  });
}
