import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DatabaseUnavailableFailure } from '../errors.js';
import { errors } from './schemas.js';

const health: FastifyPluginAsyncZod = async (app) => {
  app.get('/healthz', {
    config: { access: 'public' },
    schema: { tags: ['health'], operationId: 'getHealth', summary: 'The process is alive', response: { 200: z.object({ status: z.literal('ok') }) } },
    handler: async () => ({ status: 'ok' as const }),
  });
  app.get('/readyz', {
    config: { access: 'public' },
    schema: { tags: ['health'], operationId: 'getReadiness', summary: 'The database answers', response: { 200: z.object({ status: z.literal('ready') }), ...errors(503) } },
    handler: async () => {
      try {
        await app.db.pool.query('SELECT 1');
      } catch {
        throw new DatabaseUnavailableFailure('The database does not answer');
      }
      return { status: 'ready' as const };
    },
  });
  app.get('/metrics', {
    config: { access: 'admin' },
    schema: {
      tags: ['health'],
      operationId: 'getMetrics',
      summary: 'Prometheus metrics (admin key)',
      description:
        "Prometheus's text format: Node's own metrics (process_*, nodejs_*), HTTP responses by route and status (tally_http_request_duration_seconds), the ledger's transactions and account cache (tally_ledger_*), the database pool (tally_db_pool_connections) and the Stripe events not yet processed (tally_webhook_events_*). Scrape it with an admin key as a bearer token.",
      response: { 200: { description: 'Prometheus text exposition format 0.0.4', content: { 'text/plain': { schema: z.string() } } }, ...errors(401, 403) },
    },
    handler: async (_request, reply) => {
      reply.type(app.metrics.contentType);
      return app.metrics.scrape();
    },
  });
};

export default health;
