import type { FastifyPluginAsync } from 'fastify';
import type Stripe from 'stripe';
import { z } from 'zod';
import { sendError } from '../../plugins/error-handler.js';
import { errors } from '../schemas.js';

// Decoded once here as the SDK would decode it (TextDecoder, utf-8): the SDK then verifies and parses
// that same text, and it is what gets stored.
const utf8 = new TextDecoder('utf8');

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
      summary: "Stripe's webhook endpoint (signed with STRIPE_WEBHOOK_SECRET; no API key)",
      security: [],
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
      const isNew = await app.stripeEvents.ingest(event, payload);
      return reply.status(200).send({ received: true, duplicate: !isNew });
    },
  });
};

export default webhooks;
