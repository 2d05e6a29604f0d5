import fp from 'fastify-plugin';
import type { FastifyRequest, RouteOptions } from 'fastify';
import { documentErrors } from '../routes/schemas.js';
import { parse } from 'secure-json-parse';
import { UnsupportedMediaFailure, ValidationFailure } from '../errors.js';

/** Refuses bytes that are not UTF-8; a byte order mark is skipped, as JSON.parse of Fastify's string did not need. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

const POISONING = { protoAction: 'error', constructorAction: 'error' } as const;

/**
 * JSON bodies, parsed as Fastify's own parser does (secure-json-parse, refusing `__proto__` and
 * `constructor.prototype`, which could change every object's prototype), but with a 400 that says
 * what is wrong and where, where Fastify's says only "not valid JSON"; an empty body is no body
 * (Fastify's is a 400 even where a route needs none); and a compressed body is a 415 naming its
 * Content-Encoding, rather than bytes read as JSON, and so is a charset other than UTF-8. Any other
 * Content-Type is a 415.
 */
export function parseJsonBody(request: FastifyRequest, bytes: Buffer, done: (error: Error | null, body?: unknown) => void): void {
  const encoding = request.headers['content-encoding'];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
    done(new UnsupportedMediaFailure('unsupported_content_encoding', `Content-Encoding '${encoding}' is not supported: send the body uncompressed`));
    return;
  }
  // JSON is UTF-8 (RFC 8259, 8.1); a body said to be in another charset would be read as the wrong text.
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(request.headers['content-type'] ?? '')?.[1];
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
    done(new UnsupportedMediaFailure('unsupported_charset', `charset '${charset}' is not supported: send the JSON body in UTF-8`));
    return;
  }
  if (bytes.length === 0) {
    // No body, as many HTTP clients send it with their default Content-Type: the route's schema says
    // whether it needs one ("No body (or {})" routes do not; the others answer "a JSON body is required").
    done(null, undefined);
    return;
  }
  let body: string;
  try {
    body = UTF8.decode(bytes);
  } catch {
    // Read leniently, each byte that is not UTF-8 would be U+FFFD in what is stored: a name or metadata not as sent.
    done(new ValidationFailure('invalid_json', 'The body is not valid UTF-8, which JSON must be: send the JSON body in UTF-8'));
    return;
  }
  try {
    done(null, parse(body, undefined, POISONING));
  } catch (error) {
    done(new ValidationFailure('invalid_json', jsonFailure(error)));
  }
}

function jsonFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (message.includes('forbidden prototype property')) return 'The body has a "__proto__" or "constructor.prototype" key, which Tally refuses';
  return `The body is not valid JSON: ${message}`;
}

/** A route that reads a body can answer 413 and 415 before it runs: its schema says so (and so openapi.yaml). */
function documentBodyFailures(route: RouteOptions): void {
  if ([route.method].flat().some((method) => BODY_METHODS.has(method))) documentErrors(route, 413, 415);
}

// Fastify reads a DELETE's body too (a revoke sent with one is parsed like a POST's).
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export default fp(
  async (app) => {
    // Fastify's text/plain parser goes too: a JSON route given text is a 415 that says to send JSON
    // (as `fetch` does when given a string and no Content-Type), not zod's "expected object, received string".
    app.removeContentTypeParser(['application/json', 'text/plain']);
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, parseJsonBody);
    app.addHook('onRoute', documentBodyFailures);
  },
  { name: 'json-body' },
);
