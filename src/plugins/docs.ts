import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';

export const openApiInfo = {
  title: 'Tally',
  version: '0.1.0',
  description:
    'Prepaid credits and Stripe billing as a service. Every change of a balance is an entry in an append-only ledger. ' +
    'Authenticate with `Authorization: Bearer <api key>`. Errors are `{ "error": { "code", "message", "details"? } }`.',
};

/** The OpenAPI document is generated from the routes' zod schemas; openapi.yaml is a copy (npm run openapi). */
export default fp(
  async (app) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: openApiInfo,
        components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'A Tally API key' } } },
        security: [{ apiKey: [] }],
      },
      transform: jsonSchemaTransform,
    });
    await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list' } });
    app.get('/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger());
  },
  { name: 'docs' },
);
