import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Replayable } from '../../domain/ledger/ledger.js';
import type { HoldResult } from '../../domain/ledger/types.js';
import { z } from 'zod';
import { accountParams, amount, creditCount, errors, idempotencyHeaders, idempotencyOf, insufficientCredits, metadata, optionalIdempotencyHeaders, page, pageQuery, reason, timestamp } from '../schemas.js';

const hold = z
  .object({
    id: z.string(),
    accountId: z.string(),
    amount: z.number().int(),
    status: z.enum(['active', 'captured', 'released', 'expired']),
    capturedAmount: z.number().int().nullable(),
    expiresAt: timestamp,
    reason: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()),
    createdAt: timestamp,
    settledAt: timestamp.nullable(),
  })
  .describe("A hold past its time is `expired` at once (a capture is refused); its `settledAt` stays null until the release entry is written, within a sweep interval");

/** The hold as a read shows it, with the ledger entry the request wrote and the balance after it. */
const holdResponse = hold.extend({
  entryId: z.string(),
  available: z.number().int(),
  held: z.number().int(),
});

const holdParams = z.object({ holdId: z.string().min(1).max(64) });

/** The capture's entry records `captured` and `returned` in its metadata: a client's own under those names would be lost. */
const captureMetadata = metadata.refine((value) => !('captured' in value) && !('returned' in value), 'captured and returned are the keys in which the entry records the credits captured and returned: name yours otherwise');

const holds: FastifyPluginAsyncZod = async (app) => {
  /** What a hold, capture or release answers: the hold as a read shows it, with the entry and the balance. */
  async function answer(reply: FastifyReply, { value, replayed }: Replayable<HoldResult>, status: 200 | 201) {
    if (replayed) reply.header('idempotent-replayed', 'true');
    const { hold, entryId, available, held } = await app.holds.withMetadata(value);
    return reply.status(status).send({ ...hold, entryId, available, held });
  }

  app.get('/v1/holds/:holdId', {
    schema: { tags: ['holds'], operationId: 'getHold', summary: 'A hold', params: holdParams, response: { 200: hold, ...errors(400, 401, 404) } },
    handler: async (request) => app.holds.get(request.params.holdId),
  });

  app.get('/v1/accounts/:accountId/holds', {
    schema: {
      tags: ['holds'],
      operationId: 'listHolds',
      summary: "An account's holds of one status, oldest first: by default the active ones, that still reserve credits (their amounts add up to the balance's `held`)",
      params: accountParams,
      querystring: pageQuery(holdParams.shape.holdId).extend({
        status: hold.shape.status
          .default('active')
          .describe('`active` (the default): holds that still reserve credits; `captured`, `released` or `expired`: settled holds, a hold past its time included at once, as a read shows it'),
      }),
      response: { 200: page(hold), ...errors(400, 401, 404) },
    },
    handler: async (request) => {
      const { status, limit, cursor } = request.query;
      const page = await app.holds.list(request.params.accountId, status, limit, cursor);
      return { data: page.holds, nextCursor: page.nextCursor };
    },
  });

  app.post('/v1/accounts/:accountId/holds', {
    schema: {
      tags: ['holds'],
      operationId: 'createHold',
      summary: 'Reserve credits for work whose cost is known afterwards (402 when not available)',
      params: accountParams,
      headers: idempotencyHeaders,
      body: z.strictObject({
        amount,
        expiresInSeconds: z.number().int().min(1).max(7 * 86400).optional().describe('Released by itself after this long; default HOLD_DEFAULT_SECONDS'),
        reason: reason.optional(),
        metadata: metadata.optional(),
      }),
      response: { 201: holdResponse, ...errors(400, 401, 404, 409), 402: insufficientCredits },
    },
    handler: async (request, reply) => {
      const result = await app.ledger.hold(
        {
          accountId: request.params.accountId,
          amount: request.body.amount,
          expiresInSeconds: request.body.expiresInSeconds ?? app.config.HOLD_DEFAULT_SECONDS,
          reason: request.body.reason ?? null,
          metadata: request.body.metadata,
        },
        idempotencyOf(request, 'hold')!,
      );
      return answer(reply, result, 201);
    },
  });

  app.post('/v1/holds/:holdId/capture', {
    schema: {
      tags: ['holds'],
      operationId: 'captureHold',
      summary: 'Spend up to the held amount; the rest is freed',
      params: holdParams,
      headers: optionalIdempotencyHeaders,
      body: z.strictObject({ amount: creditCount.nonnegative('must be 0 or more').describe('Credits to spend, 0 to the held amount'), reason: reason.optional(), metadata: captureMetadata.optional() }),
      response: { 200: holdResponse, ...errors(400, 401, 404, 409) },
    },
    handler: async (request, reply) => {
      const result = await app.ledger.capture(
        request.params.holdId,
        request.body.amount,
        { reason: request.body.reason ?? null, metadata: request.body.metadata },
        idempotencyOf(request, 'capture'),
      );
      return answer(reply, result, 200);
    },
  });

  app.post('/v1/holds/:holdId/release', {
    schema: {
      tags: ['holds'],
      operationId: 'releaseHold',
      summary: 'Free all the held credits',
      params: holdParams,
      headers: optionalIdempotencyHeaders,
      body: z.strictObject({ reason: reason.optional() }).nullish().describe('No body (or {}) releases without a reason'),
      response: { 200: holdResponse, ...errors(400, 401, 404, 409) },
    },
    handler: async (request, reply) => {
      return answer(reply, await app.ledger.release(request.params.holdId, request.body?.reason ?? null, idempotencyOf(request, 'release')), 200);
    },
  });
};

export default holds;
