import { isDeepStrictEqual } from 'node:util';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { StripeError } from './stripe-error.js';

/** Stripe's documented limit: "Idempotency keys are up to 255 characters long." */
const MAX_KEY_LENGTH = 255;

interface Stored {
  method: string;
  path: string;
  params: unknown;
  statusCode?: number;
  payload?: string;
}

/**
 * Replays the stored answer for a repeated `Idempotency-Key`, as Stripe's v1 API does: every answer
 * of an endpoint that began, server errors included ("Retries with the same key return the saved
 * response, including 500 errors"). What fails before (an injected failure not `saved`, a refused key)
 * saves nothing.
 */
export class Idempotency {
  private readonly keys = new Map<string, Stored>();
  private readonly owners = new WeakMap<FastifyRequest, Stored>();

  readonly preHandler = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const key = storeKey(request);
    if (!key) return;
    const header = String(request.headers['idempotency-key']);
    if (header.length > MAX_KEY_LENGTH) {
      throw new StripeError(400, 'invalid_request_error', `Invalid idempotency key: it is ${header.length} characters long; idempotency keys are up to ${MAX_KEY_LENGTH} characters long.`);
    }
    const path = request.url.split('?')[0] ?? '';
    const stored = this.keys.get(key);
    if (!stored) {
      const entry: Stored = { method: request.method, path, params: request.body ?? {} };
      this.keys.set(key, entry);
      this.owners.set(request, entry);
      return;
    }
    if (stored.method !== request.method || stored.path !== path || !isDeepStrictEqual(stored.params, request.body ?? {})) {
      throw new StripeError(
        400, 'idempotency_error',
        `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${header}' if you meant to execute a different request.`,
      );
    }
    if (stored.payload === undefined) {
      throw new StripeError(409, 'idempotency_error', 'There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): ' + header + '. Please try again later.');
    }
    return reply
      .code(stored.statusCode ?? 200)
      .header('idempotent-replayed', 'true')
      .type('application/json')
      .send(stored.payload);
  };

  readonly onSend = async (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
    const stored = this.owners.get(request);
    if (!stored) return payload;
    const key = storeKey(request) as string;
    if (typeof payload !== 'string') this.keys.delete(key);
    else Object.assign(stored, { statusCode: reply.statusCode, payload });
    return payload;
  };
}

function storeKey(request: FastifyRequest): string | undefined {
  const header = request.headers['idempotency-key'];
  if (request.method === 'GET' || typeof header !== 'string' || header === '') return undefined;
  return `${request.headers.authorization ?? ''} ${header}`;
}
