import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errors, idempotencyKey, optionalIdempotencyHeaders, shownName, timestamp } from '../schemas.js';

const apiKey = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(['admin', 'service']),
  prefix: z.string().describe('The first characters of the secret, to recognise it'),
  createdAt: timestamp,
  revokedAt: timestamp.nullable(),
});

const apiKeys: FastifyPluginAsyncZod = async (app) => {
  app.post('/v1/api-keys', {
    config: { access: 'admin', keyedCreate: 'api_key' },
    schema: {
      tags: ['api keys'],
      operationId: 'createApiKey',
      summary: 'Create an API key (admin); the secret is shown only in this reply',
      description:
        'With an Idempotency-Key, a retry makes no second key; since the secret is kept only as its hash, the retry of a create that succeeded ' +
        'is the 409 `api_key_already_created`, whose details name the key (revoke it if its secret was lost).',
      headers: optionalIdempotencyHeaders,
      body: z.strictObject({ name: shownName(100), role: z.enum(['admin', 'service']).default('service') }),
      response: { 201: apiKey.extend({ secret: z.string() }), ...errors(400, 401, 403, 409) },
    },
    handler: async (request, reply) => reply.status(201).send(await app.apiKeys.create(request.body.name, request.body.role, idempotencyKey(request))),
  });

  app.get('/v1/api-keys', {
    config: { access: 'admin' },
    schema: { tags: ['api keys'], operationId: 'listApiKeys', summary: 'List API keys (admin)', response: { 200: z.object({ data: z.array(apiKey) }), ...errors(401, 403) } },
    handler: async () => ({ data: await app.apiKeys.list() }),
  });

  app.delete('/v1/api-keys/:id', {
    config: { access: 'admin' },
    schema: {
      tags: ['api keys'],
      operationId: 'revokeApiKey',
      summary: 'Revoke an API key (admin); the last active admin key is kept (409) unless TALLY_ADMIN_KEY is set',
      params: z.object({ id: z.string().min(1).max(64) }),
      response: { 200: apiKey, ...errors(401, 403, 404, 409) },
    },
    handler: async (request) => app.apiKeys.revoke(request.params.id),
  });
};

export default apiKeys;
