import type { FastifyInstance } from 'fastify';
import type { SimulatorContext } from '../context.js';
import { expandObject, type Expandable } from '../http/expand.js';
import { matchesRange, paginate } from '../http/paginate.js';
import { listResponse } from '../http/list-response.js';
import { parseParams } from '../http/parse-params.js';
import { found } from '../http/stripe-error.js';
import type { CheckoutSession } from '../stripe-objects.js';
import { createSessionParams, listLineItemsParams, listSessionParams, retrieveParams } from './checkout-session-params.js';
import { createCheckoutSession } from './create-checkout-session.js';
import { expireCheckoutSession, expireIfDue } from './expire-checkout-session.js';

type WithId = { Params: { id: string } };

export function getCheckoutSession(ctx: SimulatorContext, id: string): CheckoutSession {
  const session = found(ctx.store.checkoutSessions, 'checkout.session', id);
  expireIfDue(ctx, session);
  return session;
}

export function checkoutSessionRoutes(app: FastifyInstance, ctx: SimulatorContext): void {
  // Lists run newest first; line items keep the order they were given in, so they go in reversed.
  const lineItemsForPaging = (session: CheckoutSession) => [...(ctx.store.checkoutLineItems.get(session.id) ?? [])].reverse();
  const lineItemsOf = (session: CheckoutSession): Expandable => ({
    line_items: () => paginate(lineItemsForPaging(session), { limit: 100 }, `/v1/checkout/sessions/${session.id}/line_items`),
  });

  app.post('/v1/checkout/sessions', async (request) => {
    const params = parseParams(createSessionParams, request.body);
    const session = createCheckoutSession(ctx, params);
    return expandObject(ctx.store, session, params.expand, lineItemsOf(session));
  });

  app.get<WithId>('/v1/checkout/sessions/:id', async (request) => {
    const params = parseParams(retrieveParams, request.query);
    const session = getCheckoutSession(ctx, request.params.id);
    return expandObject(ctx.store, session, params.expand, lineItemsOf(session));
  });

  app.get('/v1/checkout/sessions', async (request) => {
    const params = parseParams(listSessionParams, request.query);
    for (const session of ctx.store.checkoutSessions.values()) expireIfDue(ctx, session);
    const matching = [...ctx.store.checkoutSessions.values()].filter(
      (session) =>
        (params.customer === undefined || session.customer === params.customer) &&
        (params.status === undefined || session.status === params.status) &&
        (params.subscription === undefined || session.subscription === params.subscription) &&
        (params.payment_intent === undefined || session.payment_intent === params.payment_intent) &&
        (params.customer_details === undefined || session.customer_details?.email === params.customer_details.email) &&
        matchesRange(session.created, params.created),
    );
    return listResponse(ctx.store, matching, params, '/v1/checkout/sessions', lineItemsOf);
  });

  app.get<WithId>('/v1/checkout/sessions/:id/line_items', async (request) => {
    const params = parseParams(listLineItemsParams, request.query);
    const session = getCheckoutSession(ctx, request.params.id);
    return listResponse(ctx.store, lineItemsForPaging(session), params, `/v1/checkout/sessions/${session.id}/line_items`);
  });

  app.post<WithId>('/v1/checkout/sessions/:id/expire', async (request) => {
    const params = parseParams(retrieveParams, request.body);
    const session = expireCheckoutSession(ctx, getCheckoutSession(ctx, request.params.id));
    return expandObject(ctx.store, session, params.expand, lineItemsOf(session));
  });
}
