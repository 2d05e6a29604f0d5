import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { accountId, errors, idempotencyKey, optionalIdempotencyHeaders, stripePriceId, timestamp } from '../schemas.js';

const kind = z.enum(['pack', 'subscription', 'bill']);
const status = z.enum(['open', 'complete', 'expired']);
// Stripe's own, an open set (its SDK types it so): paid, unpaid, no_payment_required so far.
const paymentStatus = z.string().describe("Stripe's payment_status of the session: paid, unpaid or no_payment_required (Stripe may add others)");

const checkout = z.object({
  id: z.string(),
  accountId: z.string(),
  kind,
  packId: z.string().nullable(),
  planId: z.string().nullable(),
  billId: z.string().nullable(),
  quantity: z.number().int(),
  credits: z.number().int(),
  status,
  paymentStatus,
  url: z.string().nullable(),
  expiresAt: timestamp.nullable(),
  fulfilled: z.boolean(),
  grantId: z.string().nullable(),
});
const sessionParams = z.object({ id: z.string().regex(/^cs_\w+$/, 'must be a Checkout Session id (cs_...)') });
const redirectUrl = z.string().max(2000);

const checkoutRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post('/v1/checkout/sessions', {
    config: { keyedCreate: 'checkout' },
    schema: {
      tags: ['checkout'],
      operationId: 'createCheckoutSession',
      summary: 'Open a Stripe Checkout for a credit pack (payment) or a plan (subscription); 409 subscription_exists if the account already has a live one',
      description:
        "An account has one open subscription checkout at a time: opening one expires the account's older open ones, at Stripe and in Tally (pack checkouts and bills stay open). " +
        '409 subscription_exists also when an older one turns out to be paid already (the new one is then expired; details.checkoutSessionId names the paid one), ' +
        'and 409 checkout_superseded when a newer one, opened at the same time, won (a request answered before the newer one was recorded finds its checkout expired later). ' +
        "A pack's or plan's price that Stripe does not know (made under another Stripe key) is made again when Tally made it; " +
        'one managed in the Dashboard is a 409 stripe_price_missing naming it.',
      headers: optionalIdempotencyHeaders,
      body: z.strictObject({
        accountId,
        packId: z.string().min(1).max(64).optional(),
        planId: z.string().min(1).max(64).optional(),
        priceId: stripePriceId.optional().describe("The Stripe price of a Tally pack or plan, instead of packId or planId"),
        mode: z.enum(['payment', 'subscription']).optional().describe('Checked against what the price sells: payment for packs, subscription for plans'),
        quantity: z.number().int().min(1).max(100).default(1).describe('Packs only'),
        successUrl: redirectUrl.optional().describe('Where Stripe sends the payer; {CHECKOUT_SESSION_ID} is filled in (added as session_id when absent)'),
        cancelUrl: redirectUrl.optional(),
        allowPromotionCodes: z.boolean().optional(),
      }).refine((body) => [body.packId, body.planId, body.priceId].filter((id) => id !== undefined).length === 1, {
        message: 'give exactly one of packId, planId or priceId',
      }).describe('Exactly one of packId, planId or priceId'),
      response: {
        201: z.object({ id: z.string(), kind, url: z.string().nullable(), expiresAt: timestamp.nullable(), status, credits: z.number().int() }),
        ...errors(400, 401, 404, 409, 502, 503),
      },
    },
    handler: async (request, reply) => {
      const key = idempotencyKey(request);
      // A replay answers the session its key opened, whatever became of the pack or plan since.
      const opened = request.keyUse?.kept.checkoutId;
      const view = typeof opened === 'string' ? await app.checkouts.get(opened) : await app.checkouts.open(request.body, key);
      if (request.keyUse) request.keyUse.keep = { checkoutId: view.id };
      return reply.status(201).send({ id: view.id, kind: view.kind, url: view.url, expiresAt: view.expiresAt, status: view.status, credits: view.credits });
    },
  });

  app.get('/v1/checkout/sessions/:id', {
    schema: { tags: ['checkout'], operationId: 'getCheckoutSession', summary: 'A checkout Tally opened', params: sessionParams, response: { 200: checkout, ...errors(400, 401, 404) } },
    handler: async (request) => app.checkouts.get(request.params.id),
  });

  app.post('/v1/checkout/sessions/:id/sync', {
    schema: {
      tags: ['checkout'],
      operationId: 'syncCheckoutSession',
      summary: "The success page's eager path: fulfil now if Stripe says paid (exactly once, shared with the webhook)",
      params: sessionParams,
      response: {
        200: z.object({ id: z.string(), status, paymentStatus, fulfilled: z.boolean(), available: z.number().int().nullable() }),
        ...errors(400, 401, 404, 502, 503),
      },
    },
    handler: async (request) => {
      const result = await app.checkouts.sync(request.params.id);
      const meta = await app.checkouts.get(request.params.id).catch(() => undefined);
      const available = result.available ?? (meta ? (await app.balances.read(meta.accountId)).available : null);
      return { id: result.id, status: result.status, paymentStatus: result.paymentStatus, fulfilled: result.fulfilled, available };
    },
  });

  app.post('/v1/portal/sessions', {
    schema: {
      tags: ['checkout'],
      operationId: 'createPortalSession',
      summary: "Open the Stripe customer portal for the account's customer (created if missing)",
      body: z.strictObject({ accountId, returnUrl: redirectUrl.optional() }),
      response: { 201: z.object({ url: z.string() }), ...errors(400, 401, 404, 409, 502, 503) },
    },
    handler: async (request, reply) => reply.status(201).send(await app.openPortal(request.body.accountId, request.body.returnUrl)),
  });
};

export default checkoutRoutes;
