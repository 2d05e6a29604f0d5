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

type TransformInput = Parameters<typeof jsonSchemaTransform>[0];
type ResponseSchema = { headers?: Record<string, unknown> };

const RETRY_AFTER = { type: 'integer', description: 'Seconds to wait before sending the request again (a write with the same Idempotency-Key)' };
const REPLAYED = { type: 'string', enum: ['true'], description: 'This answer is the first one of a request sent again with the same Idempotency-Key: nothing was written' };

/**
 * The zod schemas say nothing of response headers, so those the error handler (Retry-After on a 503,
 * and on a 409 request_in_progress) and the idempotent routes (idempotent-replayed on a replay) answer
 * are added to the document here.
 */
function transform(input: TransformInput): ReturnType<typeof jsonSchemaTransform> {
  const transformed = jsonSchemaTransform(input);
  const schema = transformed.schema as { headers?: { properties?: Record<string, unknown> }; response?: Record<string, ResponseSchema> };
  const keyed = schema.headers?.properties?.['idempotency-key'] !== undefined;
  for (const [status, response] of Object.entries(schema.response ?? {})) {
    if (status === '503') response.headers = { 'Retry-After': RETRY_AFTER };
    else if (status === '409') response.headers = { 'Retry-After': { ...RETRY_AFTER, description: `With request_in_progress only: ${RETRY_AFTER.description}` } };
    else if (keyed && status.startsWith('2')) response.headers = { 'Idempotent-Replayed': REPLAYED };
  }
  return transformed;
}

/** The OpenAPI document is generated from the routes' zod schemas; openapi.yaml is a copy (npm run openapi). */
export default fp(
  async (app) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: openApiInfo,
        // Relative: the paths are on whichever Tally serves the document (its PUBLIC_URL).
        servers: [{ url: '/', description: 'The Tally that serves this document' }],
        components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'A Tally API key' } } },
        security: [{ apiKey: [] }],
      },
      transform,
    });
    await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list' } });
    app.get('/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger());
  },
  { name: 'docs' },
);
