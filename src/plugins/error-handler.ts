import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import fp from 'fastify-plugin';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DatabaseUnavailableFailure, RequestInProgressFailure, TallyError, type FailureKind } from '../errors.js';
import { isDatabaseUnreachable, unreachableReason } from '../db/database-unreachable.js';
import { documentErrors } from '../routes/schemas.js';

/** The one place where a failure becomes an HTTP status. */
const STATUS: Record<FailureKind, number> = {
  validation: 400,
  unauthenticated: 401,
  insufficient_credits: 402,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  unsupported_media: 415,
  third_party: 502,
  unavailable: 503,
};

const FASTIFY_CODES: Record<string, [number, string]> = {
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'invalid_json'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'invalid_json'],
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'body_too_large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'unsupported_media_type'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'invalid_content_length'],
  FST_ERR_BAD_URL: [400, 'invalid_url'],
  FST_ERR_MAX_PARAM_LENGTH: [414, 'path_too_long'],
};

/**
 * Errors Fastify meets before a request reaches a route (a malformed percent-encoding, a path
 * parameter over routerOptions.maxParamLength): given to Fastify as `frameworkErrors`, so that they
 * too answer in the one error shape rather than Fastify's own.
 */
export function frameworkErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const [status, code] = FASTIFY_CODES[error.code] ?? [400, 'bad_request'];
  return sendError(reply, status, code, fastifyMessage(error, request));
}

/** Fastify's message, or ours where Fastify's does not say what to send instead. */
function fastifyMessage(error: FastifyError, request: FastifyRequest): string {
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    const type = request.headers['content-type'];
    const sent = type ? `Content-Type '${type}' is not supported` : 'A body was sent without a Content-Type';
    return `${sent}: send the body as JSON, with Content-Type: application/json`;
  }
  return error.message;
}

/** What Node refuses itself, before Fastify sees a request (by Node's `code`); anything else is a 400. */
const CLIENT_ERRORS: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'headers_too_large', 'The request line and headers are too large (at most 16 KB together)'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request_timeout', 'The request was not received in time'],
};

/**
 * Given to Fastify as `clientErrorHandler`: a request Node refuses before parsing it through (headers
 * or a URL over its limit, bytes that are not HTTP, a request not received in time) is answered in
 * the one error shape too, rather than Fastify's own, and the connection is closed.
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Duplex) {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] = CLIENT_ERRORS[error.code ?? ''] ?? [400, 'bad_request', 'The request is not valid HTTP/1.1'];
  const body = JSON.stringify({ error: { code, message } });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(error);
}

export function sendError(reply: FastifyReply, status: number, code: string, message: string, details?: unknown) {
  // A 503 passes: a client may send the request again (a write with its Idempotency-Key) a second later.
  if (status === 503) reply.header('retry-after', '1');
  return reply.status(status).send({ error: { code, message, ...(details === undefined ? {} : { details }) } });
}

export default fp(
  async (app) => {
    app.setErrorHandler((error: FastifyError, request, reply) => {
      if (error instanceof TallyError) {
        const status = STATUS[error.kind];
        // A 5xx of Tally's own (Stripe refused or failed) is in the log too, for whoever sees the 5xx rate
        // rise; one refused because the database is silent is not: the silence gate says that once.
        if (status >= 500 && !(error instanceof DatabaseUnavailableFailure)) {
          request.log[status === 503 ? 'warn' : 'error']({ route: request.routeOptions.url, code: error.code, details: error.details }, error.logMessage);
        }
        // Sent again in a moment, the request gets its answer, as after a 503.
        if (error instanceof RequestInProgressFailure) reply.header('retry-after', '1');
        return sendError(reply, status, error.code, error.message, error.details);
      }
      if (isDatabaseUnreachable(error)) {
        request.log.warn({ code: error.code, reason: unreachableReason(error) }, 'the database did not answer');
        const failure = new DatabaseUnavailableFailure();
        return sendError(reply, STATUS[failure.kind], failure.code, failure.message);
      }
      if (error.code === 'FST_ERR_VALIDATION' && error.validation) {
        const issues = error.validation.map((v) => ({
          field: [error.validationContext, ...String(v.instancePath).split('/').filter(Boolean)].join('.'),
          message: v.message,
        }));
        const summary = issues.map((i) => `${i.field}: ${i.message}`).join('; ');
        return sendError(reply, 400, 'invalid_request', `Invalid request: ${summary}`, { issues });
      }
      if (error.code && FASTIFY_CODES[error.code]) {
        const [status, code] = FASTIFY_CODES[error.code];
        return sendError(reply, status, code, fastifyMessage(error, request));
      }
      if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
        return sendError(reply, error.statusCode, 'bad_request', error.message);
      }
      request.log.error({ err: error, route: request.routeOptions.url }, 'unhandled error');
      return sendError(reply, 500, 'internal_error', 'Something went wrong on our side; it has been logged');
    });
    // What the framework answers for every route, documented on each: 503 (shutting_down, on any route,
    // and database_unavailable); 400 where it validates input; path_too_long where its path has parameters.
    app.addHook('onRoute', (route) => {
      documentErrors(route, 503);
      if (route.schema?.params || route.schema?.querystring || route.schema?.body || route.schema?.headers) documentErrors(route, 400);
      if (route.url.includes('/:')) documentErrors(route, 414);
    });
    app.setNotFoundHandler((request, reply) => sendError(reply, 404, 'route_not_found', `No route ${request.method} ${request.url.split('?')[0]}`));
  },
  { name: 'error-handler' },
);
