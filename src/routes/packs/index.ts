import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { newOffer, offerChanges, offerView, priceNamedOnce } from '../catalog.js';
import { activeFilter, amount, errors, idempotencyKey, optionalIdempotencyHeaders, stripePriceId } from '../schemas.js';

const credits = amount.describe('Credits granted when the pack is paid');

const pack = z.object(offerView);
const packParams = z.object({ packId: z.string().min(1).max(64) });

const PACK_PRICE_FIELDS = ['unitAmount', 'currency'] as const;

const packs: FastifyPluginAsyncZod = async (app) => {
  app.post('/v1/packs', {
    config: { access: 'admin', keyedCreate: 'pack' },
    schema: {
      tags: ['packs'],
      operationId: 'createPack',
      summary: 'Create a credit pack and its Stripe Product and Price (admin)',
      headers: optionalIdempotencyHeaders,
      body: z.strictObject({
        ...newOffer(credits),
        stripePriceId: stripePriceId.optional().describe('Sell an existing one-time Stripe price instead of creating one (without unitAmount and currency: the price sets them)'),
      }).superRefine(priceNamedOnce(PACK_PRICE_FIELDS)),
      response: { 201: pack, ...errors(400, 401, 403, 409, 502, 503) },
    },
    handler: async (request, reply) => {
      const key = idempotencyKey(request);
      // A replay answers as the first answer did, status included (keyed-creates.ts marks it replayed).
      return reply.status(201).send(await app.packs.create(request.body, key));
    },
  });

  app.get('/v1/packs', {
    schema: {
      tags: ['packs'],
      operationId: 'listPacks',
      summary: 'List credit packs',
      querystring: activeFilter('packs'),
      response: { 200: z.object({ data: z.array(pack) }), ...errors(401) },
    },
    handler: async (request) => ({ data: await app.packs.list(request.query.active !== 'false') }),
  });

  app.get('/v1/packs/:packId', {
    schema: { tags: ['packs'], operationId: 'getPack', summary: 'A credit pack', params: packParams, response: { 200: pack, ...errors(401, 404) } },
    handler: async (request) => app.packs.get(request.params.packId),
  });

  app.patch('/v1/packs/:packId', {
    config: { access: 'admin' },
    schema: {
      tags: ['packs'],
      operationId: 'updatePack',
      summary: 'Change a pack (admin); a new amount or currency makes a new Stripe Price and deactivates the old one',
      params: packParams,
      body: z.strictObject(offerChanges(credits)).superRefine(priceNamedOnce(PACK_PRICE_FIELDS)),
      response: { 200: pack, ...errors(400, 401, 403, 404, 409, 502, 503) },
    },
    handler: async (request) => app.packs.update(request.params.packId, request.body),
  });
};

export default packs;
