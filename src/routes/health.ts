import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { UnavailableFailure } from '../errors.js';
import { errors } from './schemas.js';

const health: FastifyPluginAsyncZod = async (app) => {
  app.get('/healthz', {
    config: { access: 'public' },
    schema: { tags: ['health'], summary: 'The process is alive', response: { 200: z.object({ status: z.literal('ok') }) } },
    handler: async () => ({ status: 'ok' as const }),
  });
  app.get('/readyz', {
    config: { access: 'public' },
    schema: { tags: ['health'], summary: 'The database answers', response: { 200: z.object({ status: z.literal('ready') }), ...errors(503) } },
    handler: async () => {
      try {
        await app.db.pool.query('SELECT 1');
      } catch {
        throw new UnavailableFailure('database_unavailable', 'The database does not answer');
      }
      return { status: 'ready' as const };
    },
  });
};

export default health;
