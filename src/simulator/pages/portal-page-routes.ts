import type { FastifyInstance, FastifyReply } from 'fastify';
import { updateDefaultCard } from '../billing/update-default-card.js';
import { updateSubscription, type SubscriptionChanges } from '../billing/update-subscription.js';
import type { SimulatorContext } from '../context.js';
import { StripeError } from '../http/stripe-error.js';
import type { PortalSession } from '../stripe-objects.js';
import { renderMissingPage } from './checkout-page.js';
import { renderPortalPage } from './portal-page.js';

type PortalRequest = { Params: { id: string; action?: string }; Body: Record<string, unknown> | undefined; Querystring: { notice?: string } };

export function portalPageRoutes(app: FastifyInstance, ctx: SimulatorContext): void {
  const find = (id: string, reply: FastifyReply): PortalSession | undefined => {
    const session = ctx.store.portalSessions.get(id);
    if (!session) void reply.code(404).type('text/html').send(renderMissingPage('This portal session does not exist.'));
    return session;
  };
  const render = (session: PortalSession, message?: string) => {
    const own = <T extends { customer: string }>(items: Iterable<T>) => [...items].filter((item) => item.customer === session.customer).reverse();
    return renderPortalPage({
      sessionId: session.id,
      customerEmail: ctx.store.customers.get(session.customer)?.email ?? null,
      returnUrl: session.return_url,
      subscriptions: own(ctx.store.subscriptions.values()),
      invoices: own(ctx.store.invoices.values()),
      plans: [...ctx.store.prices.values()].filter((price) => price.active && price.recurring),
      productName: (id) => ctx.store.products.get(id)?.name ?? id,
      message,
    });
  };

  app.get<PortalRequest>('/portal/:id', async (request, reply) => {
    const session = find(request.params.id, reply);
    if (session) return reply.type('text/html').send(render(session, request.query.notice));
  });

  app.post<PortalRequest>('/portal/:id/:action', async (request, reply) => {
    const session = find(request.params.id, reply);
    if (!session) return;
    const body = request.body ?? {};
    const field = (name: string) => (typeof body[name] === 'string' ? (body[name] as string) : '');
    try {
      const notice = runAction(ctx, session, request.params.action ?? '', field);
      return reply.redirect(`/portal/${session.id}?notice=${encodeURIComponent(notice)}`, 303);
    } catch (error) {
      if (!(error instanceof StripeError)) throw error;
      return reply.code(error.statusCode).type('text/html').send(render(session, error.message));
    }
  });
}

function runAction(ctx: SimulatorContext, session: PortalSession, action: string, field: (name: string) => string): string {
  if (action === 'update-card') {
    const problem = updateDefaultCard(ctx, session.customer, field('card'));
    if (problem) throw new StripeError(402, 'card_error', problem);
    return 'Your card was updated.';
  }
  const subscription = ctx.store.subscriptions.get(field('subscription'));
  if (!subscription || subscription.customer !== session.customer) {
    throw new StripeError(404, 'invalid_request_error', 'That subscription does not belong to this customer.');
  }
  const changes: Record<string, SubscriptionChanges> = {
    'cancel-subscription': { cancel_at_period_end: true },
    'resume-subscription': { cancel_at_period_end: false },
    'change-plan': { items: [{ id: subscription.items.data[0]?.id, price: field('price') }] },
  };
  const change = changes[action];
  if (!change) throw new StripeError(404, 'invalid_request_error', `Unknown action ${action}.`);
  updateSubscription(ctx, subscription, change);
  return action === 'change-plan' ? 'Your plan was changed.' : action === 'cancel-subscription'
    ? 'Your subscription will be canceled at the end of the period.' : 'Your subscription will continue.';
}
