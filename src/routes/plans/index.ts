import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { newOffer, offerChanges, offerView, priceNamedOnce } from '../catalog.js';
import { activeFilter, amount, errors, idempotencyKey, optionalIdempotencyHeaders, stripePriceId } from '../schemas.js';

const credits = amount.describe('Credits granted each paid period');
const interval = z.enum(['month', 'year']).describe('How often the plan renews and grants');
const rollover = z.boolean().describe("Without rollover, a period's credits expire when the period ends");

export const plan = z.object({
  ...offerView,
  stripePriceId: z.string().describe('The recurring price new subscribers get'),
  interval,
  rollover: z.boolean(),
});
const planParams = z.object({ planId: z.string().min(1).max(64) });

const PLAN_PRICE_FIELDS = ['unitAmount', 'currency', 'interval'] as const;

const plans: FastifyPluginAsyncZod = async (app) => {
  app.post('/v1/plans', {
    config: { access: 'admin', keyedCreate: 'plan' },
    schema: {
      tags: ['plans'],
      operationId: 'createPlan',
      summary: 'Create a subscription plan and its Stripe Product and recurring Price (admin)',
      headers: optionalIdempotencyHeaders,
      body: z.strictObject({
        ...newOffer(credits),
        interval: interval.optional(),
        rollover: rollover.optional(),
        stripePriceId: stripePriceId.optional().describe('Sell an existing monthly or yearly Stripe price instead of creating one (without unitAmount, currency and interval: the price sets them)'),
      }).superRefine(priceNamedOnce(PLAN_PRICE_FIELDS)),
      response: { 201: plan, ...errors(400, 401, 403, 409, 502, 503) },
    },
    handler: async (request, reply) => {
      const key = idempotencyKey(request);
      // A replay answers as the first answer did, status included (keyed-creates.ts marks it replayed).
      return reply.status(201).send(await app.plans.create(request.body, key));
    },
  });

  app.get('/v1/plans', {
    schema: {
      tags: ['plans'],
      operationId: 'listPlans',
      summary: 'List subscription plans',
      querystring: activeFilter('plans'),
      response: { 200: z.object({ data: z.array(plan) }), ...errors(401) },
    },
    handler: async (request) => ({ data: await app.plans.list(request.query.active !== 'false') }),
  });

  app.get('/v1/plans/:planId', {
    schema: { tags: ['plans'], operationId: 'getPlan', summary: 'A subscription plan', params: planParams, response: { 200: plan, ...errors(401, 404) } },
    handler: async (request) => app.plans.get(request.params.planId),
  });

  app.patch('/v1/plans/:planId', {
    config: { access: 'admin' },
    schema: {
      tags: ['plans'],
      operationId: 'updatePlan',
      summary: 'Change a plan (admin); a new amount, currency or interval makes a new Stripe Price for new subscribers, existing ones keep theirs',
      params: planParams,
      body: z.strictObject({ ...offerChanges(credits), interval: interval.optional(), rollover: rollover.optional() }).superRefine(priceNamedOnce(PLAN_PRICE_FIELDS)),
      response: { 200: plan, ...errors(400, 401, 403, 404, 409, 502, 503) },
    },
    handler: async (request) => app.plans.update(request.params.planId, request.body),
  });
};

export default plans;
