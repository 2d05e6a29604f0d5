import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { plan } from '../plans/index.js';
import { accountParams, errors, timestamp } from '../schemas.js';

const subscription = z.object({
  id: z.string(),
  accountId: z.string(),
  planId: z.string().nullable(),
  plan: plan.nullable(),
  status: z.enum(['incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'unpaid', 'canceled', 'paused']),
  live: z.boolean().describe('Still billing: the account cannot start another subscription'),
  stripeSubscriptionId: z.string(),
  stripeCustomerId: z.string(),
  stripePriceId: z.string(),
  currentPeriodStart: timestamp.nullable(),
  currentPeriodEnd: timestamp.nullable(),
  cancelAtPeriodEnd: z.boolean(),
  cancelAt: timestamp.nullable(),
  canceledAt: timestamp.nullable(),
  endedAt: timestamp.nullable(),
  currentPeriodCredits: z.number().int().describe('Credits granted for the current period'),
  nextGrant: z
    .object({ at: timestamp, credits: z.number().int(), expiresAt: timestamp.nullable() })
    .nullable()
    .describe('What the next renewal grants once paid; null when none is coming'),
  createdAt: timestamp,
  updatedAt: timestamp,
});
const subscriptionParams = z.object({ id: z.string().min(1).max(128).describe("Tally's subscription id or Stripe's (sub_...)") });

const subscriptions: FastifyPluginAsyncZod = async (app) => {
  app.get('/v1/accounts/:accountId/subscription', {
    schema: {
      tags: ['subscriptions'],
      operationId: 'getSubscription',
      summary: "The account's live subscription (or else its latest): plan, status, period, next grant",
      params: accountParams,
      response: { 200: subscription, ...errors(400, 401, 404) },
    },
    handler: async (request) => app.subscriptions.forAccount(request.params.accountId),
  });

  app.post('/v1/subscriptions/:id/cancel', {
    schema: {
      tags: ['subscriptions'],
      operationId: 'cancelSubscription',
      summary: 'Ask Stripe to cancel, at the end of the period (default) or now; no further periods are granted',
      description:
        'A subscription Stripe does not know (made under another Stripe key: test mode, then live) has nothing there to cancel and can never renew: ' +
        'it is canceled in Tally at once, whatever atPeriodEnd says, and the account may subscribe again. ' +
        '409 subscription_canceled when it ended already (at Stripe too, before Tally heard of it: it is then recorded canceled).',
      params: subscriptionParams,
      body: z.strictObject({ atPeriodEnd: z.boolean().optional().describe('Default true') }).nullish().describe('No body (or {}) cancels at the end of the period'),
      response: { 200: subscription, ...errors(400, 401, 404, 409, 502, 503) },
    },
    handler: async (request) => app.subscriptions.cancel(request.params.id, request.body?.atPeriodEnd ?? true),
  });

  app.post('/v1/subscriptions/:id/change', {
    schema: {
      tags: ['subscriptions'],
      operationId: 'changeSubscriptionPlan',
      summary: 'Move to another plan: an upgrade is charged and granted for the current period at once, a downgrade applies from the next period',
      description:
        "409 stripe_price_missing when the plan's price is one managed in the Dashboard that Stripe does not know (a price Tally made is made again); " +
        '409 stripe_subscription_missing when Stripe does not know the subscription (made under another Stripe key): cancel it instead; ' +
        '409 subscription_not_in_good_standing when it is past_due or unpaid; 409 subscription_canceled when it ended (at Stripe too, before Tally heard of it).',
      params: subscriptionParams,
      body: z.strictObject({ planId: z.string().min(1).max(64) }),
      response: { 200: subscription, ...errors(400, 401, 404, 409, 502, 503) },
    },
    handler: async (request) => app.subscriptions.change(request.params.id, request.body.planId),
  });
};

export default subscriptions;
