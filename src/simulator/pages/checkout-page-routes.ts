import type { FastifyInstance, FastifyReply } from 'fastify';
import { completeCheckoutSession, successRedirect } from '../checkout/complete-checkout-session.js';
import { expireIfDue } from '../checkout/expire-checkout-session.js';
import type { SimulatorContext } from '../context.js';
import type { CheckoutSession } from '../stripe-objects.js';
import { renderCheckoutPage, renderMissingPage } from './checkout-page.js';

type WithId = { Params: { id: string } };

export function checkoutPageRoutes(app: FastifyInstance, ctx: SimulatorContext): void {
  const find = (id: string, reply: FastifyReply): CheckoutSession | undefined => {
    const session = ctx.store.checkoutSessions.get(id);
    if (!session) {
      void reply.code(404).type('text/html').send(renderMissingPage('This Checkout Session does not exist.'));
      return undefined;
    }
    expireIfDue(ctx, session);
    return session;
  };
  const page = (session: CheckoutSession, message?: string, card?: string) =>
    renderCheckoutPage(session, ctx.store.checkoutLineItems.get(session.id) ?? [], message, card);

  app.get<WithId>('/checkout/:id', async (request, reply) => {
    const session = find(request.params.id, reply);
    if (session) return reply.type('text/html').send(page(session));
  });

  app.post<WithId & { Body: { card?: unknown } }>('/checkout/:id/pay', async (request, reply) => {
    const session = find(request.params.id, reply);
    if (!session) return;
    const card = typeof request.body?.card === 'string' ? request.body.card : '';
    const result = completeCheckoutSession(ctx, session, card);
    if (result.paid) return reply.redirect(successRedirect(result.session), 303);
    return reply.type('text/html').send(page(session, result.message, card));
  });

  app.get<WithId>('/checkout/:id/cancel', async (request, reply) => {
    const session = find(request.params.id, reply);
    if (!session) return;
    if (session.cancel_url) return reply.redirect(session.cancel_url, 303);
    return reply.redirect(`/checkout/${session.id}`, 303);
  });
}
