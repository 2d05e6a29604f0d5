import type { FastifyInstance } from 'fastify';
import { checkoutSessionRoutes } from '../checkout/checkout-session-routes.js';
import type { SimulatorContext } from '../context.js';
import { eventRoutes } from '../events/event-routes.js';
import { newId } from '../ids.js';
import { customerRoutes } from '../resources/customer-routes.js';
import { portalSessionRoutes } from '../resources/portal-session-routes.js';
import { priceRoutes } from '../resources/price-routes.js';
import { productRoutes } from '../resources/product-routes.js';
import { invoicePaymentRoutes } from '../billing/invoice-payment-routes.js';
import { invoiceRoutes } from '../billing/invoice-routes.js';
import { chargeRoutes } from '../payments/charge-routes.js';
import { disputeRoutes } from '../payments/dispute-routes.js';
import { refundRoutes } from '../payments/refund-routes.js';
import { subscriptionRoutes } from '../billing/subscription-routes.js';
import { subscriptionScheduleRoutes } from '../billing/subscription-schedules.js';
import { authenticate } from './authenticate.js';
import type { FailureInjection } from './failure-injection.js';
import { Idempotency } from './idempotency.js';
import { API_VERSION } from '../events/emit-event.js';

/** The `/v1` API: authenticated, failure-injectable and idempotent, in that order (a `saved` failure after the key is taken). */
export function apiPlugin(ctx: SimulatorContext, failures: FailureInjection) {
  return async function api(app: FastifyInstance): Promise<void> {
    const idempotency = new Idempotency();
    app.addHook('onRequest', async (request, reply) => {
      reply.header('request-id', newId('req_', 14));
      reply.header('stripe-version', request.headers['stripe-version'] ?? API_VERSION);
    });
    app.addHook('onRequest', authenticate);
    app.addHook('preHandler', failures.hook);
    app.addHook('preHandler', idempotency.preHandler);
    app.addHook('preHandler', failures.savedHook);
    app.addHook('onSend', idempotency.onSend);
    for (const routes of [
      customerRoutes, productRoutes, priceRoutes, checkoutSessionRoutes, portalSessionRoutes,
      eventRoutes, subscriptionRoutes, subscriptionScheduleRoutes, invoiceRoutes, invoicePaymentRoutes, chargeRoutes, refundRoutes, disputeRoutes,
    ]) {
      routes(app, ctx);
    }
  };
}
