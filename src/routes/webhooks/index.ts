import type { FastifyPluginAsync } from 'fastify';
import type Stripe from 'stripe';
import { z } from 'zod';
import { sendError } from '../../plugins/error-handler.js';
import { errors } from '../schemas.js';

// Decoded once here as the SDK would decode it (TextDecoder, utf-8): the SDK then verifies and parses
// that same text, and it is what gets stored.
const utf8 = new TextDecoder('utf8');

/**
 * What storing and processing an event read of it: a verified body without these (a JSON array, an
 * object with no id, a `created` that is not a time) cannot be stored or handled, so it is a 400, not
 * a 500 or an event that fails for ever.
 */
const eventEnvelope = z.looseObject({
  id: z.string().min(1),
  type: z.string().min(1),
  created: z.number().int().min(0).max(2 ** 31 - 1),
  data: z.looseObject({ object: z.looseObject({}) }),
});

/**
 * Stripe's webhook. The signature covers the raw bytes, so this plugin (and only it) keeps JSON
 * bodies as a Buffer. An event is stored before the 2xx; processing follows, and is retried by
 * Tally itself when it fails.
 */
const webhooks: FastifyPluginAsync = async (app) => {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.post('/v1/webhooks/stripe', {
    config: { access: 'public' },
    bodyLimit: 1024 * 1024,
    schema: {
      tags: ['webhooks'],
      operationId: 'receiveStripeWebhook',
      summary: "Stripe's webhook endpoint (signed with STRIPE_WEBHOOK_SECRET; no API key)",
      response: {
        200: z.object({ received: z.literal(true), duplicate: z.boolean().describe('Stored already: a redelivery') }),
        ...errors(400),
      },
    },
    handler: async (request, reply) => {
      const signature = request.headers['stripe-signature'];
      if (typeof signature !== 'string' || !Buffer.isBuffer(request.body)) {
        return sendError(reply, 400, 'invalid_signature', 'A Stripe-Signature header and a JSON body are required');
      }
      const payload = utf8.decode(request.body);
      let event: Stripe.Event;
      try {
        event = app.stripe.webhooks.constructEvent(payload, signature, app.webhookSecret);
      } catch (error) {
        return sendError(reply, 400, 'invalid_signature', `Webhook signature verification failed: ${(error as Error).message.split('\n')[0]}`);
      }
      const envelope = eventEnvelope.safeParse(event);
      if (!envelope.success) {
        return sendError(reply, 400, 'invalid_event', 'The signed body is not a Stripe event (id, type, created and data.object are required)', {
          issues: envelope.error.issues.map((issue) => ({ field: ['body', ...issue.path].join('.'), message: issue.message })),
        });
      }
      const isNew = await app.stripeEvents.ingest(event, payload);
      return reply.status(200).send({ received: true, duplicate: !isNew });
    },
  });
};

export default webhooks;
