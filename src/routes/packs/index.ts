import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { activeFilter, errors, idempotencyKey, optionalIdempotencyHeaders, timestamp } from '../schemas.js';

export const currency = z
  .string()
  .regex(/^[A-Za-z]{3}$/, 'must be a three-letter ISO currency code')
  .transform((c) => c.toLowerCase())
  .describe('Three-letter ISO code Stripe accepts, e.g. "usd"');
export const minorUnits = z.number().int('must be an integer (minor units)').positive().max(99_999_999).describe('Money in the currency\'s minor units (cents)');
const credits = z.number().int().positive().max(1_000_000_000_000);

const pack = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  credits: z.number().int(),
  unitAmount: z.number().int(),
  currency: z.string(),
  active: z.boolean(),
  stripeProductId: z.string().nullable(),
  stripePriceId: z.string(),
  createdAt: timestamp,
  updatedAt: timestamp,
});
const packParams = z.object({ packId: z.string().min(1).max(64) });

const packs: FastifyPluginAsyncZod = async (app) => {
  app.post('/v1/packs', {
    config: { access: 'admin' },
    schema: {
      tags: ['packs'],
      summary: 'Create a credit pack and its Stripe Product and Price (admin)',
      headers: optionalIdempotencyHeaders,
      body: z.strictObject({
        name: z.string().min(1).max(200),
        credits,
        unitAmount: minorUnits.optional(),
        currency: currency.optional(),
        description: z.string().max(1000).optional(),
        active: z.boolean().optional(),
        stripePriceId: z.string().regex(/^price_\w+$/).optional().describe('Sell an existing one-time Stripe price instead of creating one'),
      }),
      response: { 201: pack, 200: pack, ...errors(400, 401, 403, 502, 503) },
    },
    handler: async (request, reply) => {
      const key = idempotencyKey(request);
      const { pack: view, created } = await app.packs.create(request.body, key);
      return reply.status(created ? 201 : 200).send(view);
    },
  });

  app.get('/v1/packs', {
    schema: {
      tags: ['packs'],
      summary: 'List credit packs',
      querystring: activeFilter('packs'),
      response: { 200: z.object({ data: z.array(pack) }), ...errors(401) },
    },
    handler: async (request) => ({ data: await app.packs.list(request.query.active !== 'false') }),
  });

  app.get('/v1/packs/:packId', {
    schema: { tags: ['packs'], summary: 'A credit pack', params: packParams, response: { 200: pack, ...errors(401, 404) } },
    handler: async (request) => app.packs.get(request.params.packId),
  });

  app.patch('/v1/packs/:packId', {
    config: { access: 'admin' },
    schema: {
      tags: ['packs'],
      summary: 'Change a pack (admin); a new amount or currency makes a new Stripe Price and deactivates the old one',
      params: packParams,
      body: z.strictObject({
        name: z.string().min(1).max(200).optional(),
        credits: credits.optional(),
        unitAmount: minorUnits.optional(),
        currency: currency.optional(),
        description: z.string().max(1000).nullable().optional(),
        active: z.boolean().optional(),
        stripePriceId: z.string().regex(/^price_\w+$/).optional(),
      }),
      response: { 200: pack, ...errors(400, 401, 403, 404, 409, 502, 503) },
    },
    handler: async (request) => app.packs.update(request.params.packId, request.body),
  });
};

export default packs;
