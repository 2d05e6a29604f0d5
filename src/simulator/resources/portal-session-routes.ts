import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SimulatorContext } from '../context.js';
import { expandObject } from '../http/expand.js';
import { expand, str } from '../http/form-schemas.js';
import { parseParams } from '../http/parse-params.js';
import { invalidRequest } from '../http/stripe-error.js';
import { newId } from '../ids.js';
import type { PortalSession } from '../stripe-objects.js';

const createParams = z.strictObject({
  customer: str,
  return_url: str.optional(),
  configuration: str.optional(),
  locale: str.optional(),
  expand,
});

export function portalSessionRoutes(app: FastifyInstance, ctx: SimulatorContext): void {
  app.post('/v1/billing_portal/sessions', async (request) => {
    const params = parseParams(createParams, request.body);
    if (!ctx.store.customers.has(params.customer)) {
      throw invalidRequest(`No such customer: '${params.customer}'`, 'customer', 'resource_missing');
    }
    const id = newId('bps_');
    const session: PortalSession = {
      id,
      object: 'billing_portal.session',
      configuration: params.configuration ?? 'bpc_simulator_default',
      created: ctx.clock.now(),
      customer: params.customer,
      customer_account: null,
      flow: null,
      livemode: false,
      locale: params.locale ?? null,
      on_behalf_of: null,
      return_url: params.return_url ?? null,
      url: `${ctx.publicUrl()}/portal/${id}`,
    };
    ctx.store.portalSessions.set(id, session);
    return expandObject(ctx.store, session, params.expand);
  });
}
