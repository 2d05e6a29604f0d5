import Fastify, { type FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import rateLimit from '@fastify/rate-limit';
import { jsonSerializerCompiler } from './lib/json-serializer.js';
import { requestValidatorCompiler } from './lib/request-validator.js';
import { randomUUID } from 'node:crypto';
import type { Config } from './config.js';
import type { Database } from './db/client.js';
import { loggerOptions } from './logger.js';
import auth from './plugins/auth.js';
import closeConnections from './plugins/close-connections.js';
import docs from './plugins/docs.js';
import errorHandler, { clientErrorHandler, frameworkErrorHandler } from './plugins/error-handler.js';
import jsonBody from './plugins/json-body.js';
import keyedCreates from './plugins/keyed-creates.js';
import billing, { type BillingOptions } from './plugins/billing.js';
import metrics from './plugins/metrics.js';
import services from './plugins/services.js';
import accounts from './routes/accounts/index.js';
import apiKeys from './routes/api-keys/index.js';
import checkout from './routes/checkout/index.js';
import checkoutPages from './routes/checkout/pages.js';
import packs from './routes/packs/index.js';
import plans from './routes/plans/index.js';
import subscriptions from './routes/subscriptions/index.js';
import bills from './routes/bills/index.js';
import webhooks from './routes/webhooks/index.js';
import credits from './routes/credits/index.js';
import health from './routes/health.js';
import holds from './routes/holds/index.js';

export interface AppOptions {
  config: Config;
  database: Database;
  billing: BillingOptions;
  /** A pino destination for tests that read the logs. */
  logStream?: NodeJS.WritableStream;
}

/** Builds the HTTP app over a database; it never listens (server.ts does). */
export async function buildApp({ config, database, billing: billingOptions, logStream }: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: loggerOptions(config.LOG_LEVEL, logStream),
    bodyLimit: 1024 * 1024,
    // A request (headers and body) not received in time is a 408 and its connection closed: without it
    // anyone (the webhook needs no key) could hold connections open for ever, sending a byte now and then.
    // Node checks every connection at an interval (30 s by default), so half the limit here.
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    http: { requestTimeout: config.REQUEST_TIMEOUT_MS, headersTimeout: config.REQUEST_TIMEOUT_MS, connectionsCheckingInterval: config.REQUEST_TIMEOUT_MS / 2 },
    routerOptions: { maxParamLength: 300 },
    // A request on an open connection while closing is refused by close-connections.ts, in the error shape.
    return503OnClosing: false,
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
    },
    requestIdHeader: false,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(requestValidatorCompiler);
  app.setSerializerCompiler(jsonSerializerCompiler);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  await app.register(errorHandler);
  await app.register(closeConnections);
  await app.register(jsonBody);
  // Limits only where a route asks for one (the public success page); API keys are trusted backends.
  await app.register(rateLimit, { global: false });
  await app.register(services, { config, database });
  await app.register(metrics);
  await app.register(billing, billingOptions);
  await app.register(auth);
  await app.register(keyedCreates);
  await app.register(docs);
  await app.register(health);
  await app.register(accounts);
  await app.register(credits);
  await app.register(holds);
  await app.register(apiKeys);
  await app.register(packs);
  await app.register(plans);
  await app.register(subscriptions);
  await app.register(bills);
  await app.register(checkout);
  await app.register(checkoutPages);
  await app.register(webhooks);
  return app;
}
