import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SimulatorContext } from '../context.js';
import { expandObject } from '../http/expand.js';
import { bool, expand, int, list, metadata, pagination, range, str } from '../http/form-schemas.js';
import { matchesRange } from '../http/paginate.js';
import { listResponse } from '../http/list-response.js';
import { parseParams } from '../http/parse-params.js';
import { found } from '../http/stripe-error.js';
import type { Subscription } from '../stripe-objects.js';
import { cancelSubscription } from './cancel-subscription.js';
import { updateSubscription } from './update-subscription.js';

const updateParams = z.strictObject({
  items: list(z.strictObject({
    id: str.optional(), price: str.optional(), quantity: int.optional(), deleted: bool.optional(), metadata: metadata.optional(),
  })).optional(),
  proration_behavior: z.enum(['create_prorations', 'none', 'always_invoice']).optional(),
  proration_date: int.optional(),
  payment_behavior: z.enum(['allow_incomplete', 'default_incomplete', 'error_if_incomplete', 'pending_if_incomplete']).optional(),
  cancel_at_period_end: bool.optional(),
  cancellation_details: z.strictObject({ comment: str.optional(), feedback: str.optional() }).optional(),
  description: str.optional(),
  metadata: metadata.optional(),
  expand,
});
const cancelParams = z.strictObject({
  invoice_now: bool.optional(), prorate: bool.optional(),
  cancellation_details: z.strictObject({ comment: str.optional(), feedback: str.optional() }).optional(),
  expand,
});
const listParams = z.strictObject({
  ...pagination,
  customer: str.optional(),
  price: str.optional(),
  status: z.enum(['active', 'all', 'canceled', 'ended', 'incomplete', 'incomplete_expired', 'past_due', 'paused', 'trialing', 'unpaid']).optional(),
  created: range.optional(),
});
const retrieveParams = z.strictObject({ expand });
type WithId = { Params: { id: string } };

export function getSubscription(ctx: SimulatorContext, id: string): Subscription {
  return found(ctx.store.subscriptions, 'subscription', id);
}

function statusMatches(wanted: z.infer<typeof listParams>['status'], status: Subscription['status']): boolean {
  if (wanted === 'all') return true;
  if (wanted === undefined) return status !== 'canceled';
  if (wanted === 'ended') return status === 'canceled';
  return wanted === status;
}

export function subscriptionRoutes(app: FastifyInstance, ctx: SimulatorContext): void {
  app.get<WithId>('/v1/subscriptions/:id', async (request) => {
    const params = parseParams(retrieveParams, request.query);
    return expandObject(ctx.store, getSubscription(ctx, request.params.id), params.expand);
  });

  app.get('/v1/subscriptions', async (request) => {
    const params = parseParams(listParams, request.query);
    const matching = [...ctx.store.subscriptions.values()].filter(
      (subscription) =>
        (params.customer === undefined || subscription.customer === params.customer) &&
        (params.price === undefined || subscription.items.data.some((item) => item.price.id === params.price)) &&
        statusMatches(params.status, subscription.status) &&
        matchesRange(subscription.created, params.created),
    );
    return listResponse(ctx.store, matching, params, '/v1/subscriptions');
  });

  app.post<WithId>('/v1/subscriptions/:id', async (request) => {
    const params = parseParams(updateParams, request.body);
    const subscription = updateSubscription(ctx, getSubscription(ctx, request.params.id), params);
    return expandObject(ctx.store, subscription, params.expand);
  });

  app.delete<WithId>('/v1/subscriptions/:id', async (request) => {
    const params = parseParams(cancelParams, request.body ?? request.query);
    const subscription = cancelSubscription(ctx, getSubscription(ctx, request.params.id));
    return expandObject(ctx.store, subscription, params.expand);
  });
}
