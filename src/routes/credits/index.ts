import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ValidationFailure } from '../../errors.js';
import { accountParams, amount, errors, idempotencyHeaders, idempotencyOf, insufficientCredits, metadata, reason, timestamp } from '../schemas.js';

const grantResponse = z.object({
  id: z.string(),
  accountId: z.string(),
  amount: z.number().int(),
  remaining: z.number().int(),
  source: z.string(),
  expiresAt: timestamp.nullable(),
  createdAt: timestamp,
  entryId: z.string().nullable(),
  available: z.number().int(),
});

const LATEST_EXPIRY = Date.parse('9999-12-31T23:59:59.999Z');

const credits: FastifyPluginAsyncZod = async (app) => {
  app.post('/v1/accounts/:accountId/grants', {
    config: { access: 'admin' },
    schema: {
      tags: ['credits'],
      operationId: 'grantCredits',
      summary: 'Grant credits (admin)',
      params: accountParams,
      headers: idempotencyHeaders,
      body: z.strictObject({
        amount,
        source: z.string().min(1).max(100).regex(/^[A-Za-z0-9_:.-]+$/, 'letters, digits and _ : . -').optional().describe('Where the credits come from; default "manual"'),
        expiresAt: z.iso.datetime({ offset: true }).optional().describe('When the credits stop counting, in the future and no later than 9999-12-31T23:59:59.999Z; absent: never'),
        reason: reason.optional(),
        metadata: metadata.optional(),
      }),
      response: { 201: grantResponse, ...errors(400, 401, 403, 404, 409) },
    },
    handler: async (request, reply) => {
      const { amount: credits, source, expiresAt, reason: why, metadata: meta } = request.body;
      const expiry = expiresAt ? new Date(expiresAt) : null;
      // Past the year 9999 (in UTC), PostgreSQL writes the year with five digits, which no date parser reads back.
      if (expiry && expiry.getTime() > LATEST_EXPIRY) throw new ValidationFailure('invalid_request', 'expiresAt must be no later than 9999-12-31T23:59:59.999Z (leave it out for credits that never expire)', { field: 'body.expiresAt' });
      const { value, replayed } = await app.ledger.grant(
        // Whether expiresAt has passed is decided after the key is looked up: a retry of a grant made in time replays it.
        { accountId: request.params.accountId, amount: credits, source: source ?? 'manual', expiresAt: expiry, refusedIfLapsed: true, reason: why ?? null, metadata: meta ?? {} },
        idempotencyOf(request, 'grant'),
      );
      if (replayed) reply.header('idempotent-replayed', 'true');
      return reply.status(201).send({ ...value.grant, entryId: value.entryId, available: value.available });
    },
  });

  app.post('/v1/accounts/:accountId/spend', {
    schema: {
      tags: ['credits'],
      operationId: 'spendCredits',
      summary: 'Spend credits now (402 when there are not enough)',
      params: accountParams,
      headers: idempotencyHeaders,
      body: z.strictObject({ amount, reason: reason.optional(), metadata: metadata.optional() }),
      response: {
        200: z.object({ entryId: z.string(), accountId: z.string(), amount: z.number().int(), available: z.number().int() }),
        ...errors(400, 401, 404, 409), 402: insufficientCredits,
      },
    },
    handler: async (request, reply) => {
      const { value, replayed } = await app.ledger.spend(
        { accountId: request.params.accountId, amount: request.body.amount, reason: request.body.reason ?? null, metadata: request.body.metadata },
        idempotencyOf(request, 'spend')!,
      );
      if (replayed) reply.header('idempotent-replayed', 'true');
      return { entryId: value.entryId, accountId: value.accountId, amount: value.amount, available: value.available };
    },
  });
};

export default credits;
