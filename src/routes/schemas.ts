import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { FastifyRequest, RouteOptions } from 'fastify';
import { MAX_AMOUNT, type Idempotency } from '../domain/ledger/types.js';
import { CHARGE_STEP } from '../stripe/stripe-currencies.js';

/** Zod schemas shared by routes: the single source of validation and of the OpenAPI document. */

export const accountId = z
  .string()
  .regex(/^[A-Za-z0-9_\-.:]{1,128}$/, 'must be 1 to 128 characters of A-Z a-z 0-9 _ - . :')
  .describe("The product's own id for the account (a user, an organization, a project)");

export const accountParams = z.object({ accountId });

/** A whole number of credits, at most 10^12; `amount` and a capture's amount narrow it. */
export const creditCount = z
  .number({ error: 'must be a number' })
  .int('must be an integer')
  .max(MAX_AMOUNT, `must be at most ${MAX_AMOUNT}`);

export const amount = creditCount.positive('must be positive').describe('Credits: a positive integer, at most 10^12');

export const metadata = z
  .record(
    z.string().max(40),
    z.union([z.string().max(500), z.number(), z.boolean(), z.null()], { error: 'must be a string of at most 500 characters, a number, a boolean or null' }),
    { error: (issue) => (issue.code === 'invalid_key' ? 'keys are at most 40 characters' : undefined) },
  )
  .refine((value) => Object.keys(value).length <= 50, 'at most 50 keys')
  // The refine does not reach the OpenAPI document: the limit is said there too.
  .meta({ maxProperties: 50 })
  .describe('Up to 50 keys of your own; values are short strings, numbers, booleans or null');

export const reason = z.string().max(500).describe('Why, in words a person reads in the ledger');

export const idempotencyHeaders = z.object({
  'idempotency-key': z
    .string({ error: 'the Idempotency-Key header is required' })
    .min(1, 'the Idempotency-Key header is required, and not empty')
    .max(255, 'an Idempotency-Key is at most 255 characters (a UUID is 36)')
    .describe('A unique key per logical request (a UUID): a retry with the same key and body returns the first result and writes nothing'),
});

export const optionalIdempotencyHeaders = z.object({ 'idempotency-key': idempotencyHeaders.shape['idempotency-key'].optional() });

export const errorBody = z
  .object({
    error: z.object({
      code: z.string().describe('Stable, machine-readable'),
      message: z.string(),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .describe('Every error has this shape');

export const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((s) => [s, errorBody]));

/** The 402 of a spend or a hold: its details say how many credits there were and how many were asked for. */
export const insufficientCredits = z
  .object({
    error: z.object({
      code: z.literal('insufficient_credits'),
      message: z.string(),
      details: z.object({ available: z.number().int().describe('Credits that could be spent'), required: z.number().int().describe('Credits the request asked for') }),
    }),
  })
  .describe('Not enough credits available: nothing was written');

/**
 * Adds error answers to a route's schema (and so to openapi.yaml), for failures a plugin answers
 * before or around the route's own (a body it cannot read, a database that does not answer). Routes
 * hidden from the document are left as they are.
 */
export function documentErrors(route: RouteOptions, ...statuses: number[]): void {
  if (route.schema?.hide) return;
  const response = (route.schema?.response ?? {}) as Record<string, unknown>;
  route.schema = { ...route.schema, response: { ...response, ...errors(...statuses) } };
}

/** The request's Idempotency-Key header, when it has one. */
export function idempotencyKey(request: FastifyRequest): string | undefined {
  const key = request.headers['idempotency-key'];
  return typeof key === 'string' ? key : undefined;
}

/** The operation and a fingerprint of the request, so a reused key with another body is caught. */
export function idempotencyOf(request: FastifyRequest, operation: string): Idempotency | undefined {
  const key = idempotencyKey(request);
  if (!key) return undefined;
  const fingerprint = createHash('sha256')
    .update(JSON.stringify([request.params ?? null, withSortedKeys(isEmptyObject(request.body) ? null : (request.body ?? null))]))
    .digest('base64url');
  return { key, operation, fingerprint };
}

/** `{}` is no body: a route that takes none (a release) reads both alike, so a retry sent either way is the same request. */
const isEmptyObject = (body: unknown) => typeof body === 'object' && body !== null && !Array.isArray(body) && Object.keys(body).length === 0;

/**
 * A body's fields come out of its route's schema in the schema's order, but the keys of an object
 * inside it (metadata) in the order sent, and a client that rebuilds a JSON object from a map may
 * send them in another: sorted, the same request has one fingerprint. The fields stay in schema
 * order, so a body without such an object keeps the fingerprint it always had.
 */
function withSortedKeys(body: unknown): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return body;
  // Most bodies (a spend's amount and key) hold no object: they are hashed as they are, with nothing copied.
  for (const value of Object.values(body)) {
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(body).map(([field, inner]) => [field, sortedDeep(inner)]));
  }
  return body;
}

function sortedDeep(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(sortedDeep);
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortedDeep((value as Record<string, unknown>)[key])]),
  );
}

export const currency = z
  .string()
  .regex(/^[A-Za-z]{3}$/, 'must be a three-letter ISO currency code')
  .transform((c) => c.toLowerCase())
  .describe('Three-letter ISO code Stripe accepts, e.g. "usd"');

/** Stripe's special-case currencies (CHARGE_STEP), as a clause of a money field's description: "ISK in multiples of 100 and BHD, ... in multiples of 10". */
export const chargeStepsDescribed = (() => {
  const byStep = new Map<number, string[]>();
  for (const [code, step] of Object.entries(CHARGE_STEP)) byStep.set(step, [...(byStep.get(step) ?? []), code.toUpperCase()]);
  return [...byStep].map(([step, codes]) => `${codes.join(', ')} in multiples of ${step}`).join(' and ') + ', as Stripe charges them';
})();

export const stripePriceId = z.string().regex(/^price_\w+$/, 'must be a Stripe price id (price_...)');

/** The size of a page of a list; one message for every way to get it wrong (zod's own for `abc` was "received NaN"). */
export const pageLimit = z.coerce.number({ error: 'must be a whole number from 1 to 200, given once' }).int().min(1).max(200).default(50);

/** The query of a list read a page at a time: `cursor` is the `nextCursor` of the previous page. */
export const pageQuery = (cursor: z.ZodString) => z.strictObject({ limit: pageLimit, cursor: cursor.optional().describe('nextCursor of the previous page') });

/** A page of a list: `nextCursor` is null on the last. */
export const page = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item), nextCursor: z.string().nullable() });

/** Output only (responses are not validated): `format` tells a client's code generator it is a date-time, without zod's long pattern in the document. */
export const timestamp = z.string().meta({ format: 'date-time' }).describe('ISO 8601 date-time, UTC');

/** `?active=false` lists what is off sale too. */
export const activeFilter = (what: string) =>
  z.strictObject({ active: z.enum(['true', 'false']).optional().describe(`Only ${what} on sale (default true)`) });

/** A name someone reads (on a checkout page, in a list of keys): trimmed, and blank is too short. */
export const shownName = (max: number) => z.string().regex(/\S/, 'must not be blank').trim().min(1).max(max);
