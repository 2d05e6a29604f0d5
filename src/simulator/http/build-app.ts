import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { parseForm } from './parse-form.js';
import { StripeError } from './stripe-error.js';

/** A bare Fastify instance that speaks Stripe's wire format: form bodies in, Stripe errors out. */
export function buildApp(logger: false | object): FastifyInstance {
  const app = Fastify({
    logger,
    forceCloseConnections: true,
    routerOptions: { querystringParser: (query: string) => parseForm(query) },
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, parseForm(String(body)));
  });
  app.setErrorHandler((error: FastifyError | StripeError, request, reply) => {
    if (error instanceof StripeError) return reply.code(error.statusCode).send(error.toJSON());
    const status = error.statusCode ?? 500;
    if (status >= 500) request.log.error(error);
    const type = status >= 500 ? 'api_error' : 'invalid_request_error';
    return reply.code(status).send({ error: { type, message: error.message } });
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    return reply.code(404).send({
      error: {
        type: 'invalid_request_error',
        message: `Unrecognized request URL (${request.method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
      },
    });
  });
  return app;
}
