import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { accountParams, errors, metadata, pageLimit, timestamp } from '../schemas.js';

const account = z.object({
  id: z.string(),
  email: z.string().nullable(),
  name: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()),
  stripeCustomerId: z.string().nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
});

export const balance = z.object({
  accountId: z.string(),
  available: z.number().int().describe('Credits that can be spent now'),
  held: z.number().int().describe('Credits reserved by active holds'),
  grants: z.array(
    z.object({ id: z.string(), source: z.string(), amount: z.number().int(), remaining: z.number().int(), expiresAt: timestamp.nullable() }),
  ).describe('Grants with credits left, in the order spending draws on them'),
});

const entry = z.object({
  id: z.string(),
  accountId: z.string(),
  kind: z
    .enum(['grant', 'spend', 'hold', 'capture', 'release', 'expiry', 'adjustment'])
    .describe("adjustment: credits of a grant taken back because its payment was refunded or disputed (the money withdrawn); its metadata names the refund or dispute (revocationKey) and says how many credits were asked for (requested), taken (revoked) and, held then, owed (owed). Owed credits are taken as they come back to the grant (a hold released, expired, or captured in part): an adjustment whose metadata says how many (collected) and for which revocations (collectedFor: [{ revocationKey, credits }]). A refund that failed, or a dispute won, gives back what it took, at once and collected: an adjustment whose metadata names the revocation it undoes (restores), says how many came back (restored) and, if any were still owed, how many are no longer (cancelled); another collection may follow it, taking for the grant's other revocations what they had fallen short of when a capture consumed credits they were owed"),
  amount: z.number().int().describe('Change of the available balance'),
  heldChange: z.number().int().describe('Change of the held balance'),
  availableAfter: z.number().int(),
  heldAfter: z.number().int(),
  grantId: z.string().nullable(),
  holdId: z.string().nullable(),
  allocations: z
    .array(z.object({ grantId: z.string(), amount: z.number().int() }))
    .nullable()
    .describe('The grants drawn from or returned to; null for a grant'),
  reason: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()).nullable(),
  createdAt: timestamp,
});

const NOT_A_CURSOR = 'must be a cursor returned by a previous page';
/** A ledger entry id: digits within PostgreSQL's bigint (a larger number would reach the database as an error). */
const ledgerCursor = z
  .string()
  .regex(/^\d{1,19}$/, { message: NOT_A_CURSOR, abort: true })
  .refine((cursor) => BigInt(cursor) <= 2n ** 63n - 1n, NOT_A_CURSOR);

const accounts: FastifyPluginAsyncZod = async (app) => {
  app.put('/v1/accounts/:accountId', {
    schema: {
      tags: ['accounts'],
      operationId: 'upsertAccount',
      summary: 'Create or update an account',
      description:
        "A new email or name is given to the account's Stripe customer (receipts, Checkout, the portal) as the request answers, without waiting on Stripe; " +
        "when Stripe cannot take it then, before the account's next checkout or portal session. The account is saved either way.",
      params: accountParams,
      body: z
        .strictObject({ email: z.email().max(320).nullable().optional(), name: z.string().max(200).nullable().optional(), metadata: metadata.optional() })
        .nullish()
        .describe('No body (or {}) creates the account if it is missing and changes nothing'),
      response: { 200: account, 201: account, ...errors(400, 401) },
    },
    handler: async (request, reply) => {
      const { account: view, created } = await app.accounts.upsert(request.params.accountId, request.body ?? {});
      return reply.status(created ? 201 : 200).send(view);
    },
  });

  app.get('/v1/accounts/:accountId', {
    schema: {
      tags: ['accounts'],
      operationId: 'getAccount',
      summary: 'An account with its balance',
      params: accountParams,
      response: { 200: account.extend({ balance }), ...errors(400, 401, 404) },
    },
    handler: async (request) => {
      const view = await app.accounts.get(request.params.accountId);
      return { ...view, balance: await app.balances.read(view.id) };
    },
  });

  app.get('/v1/accounts/:accountId/balance', {
    schema: { tags: ['accounts'], operationId: 'getBalance', summary: "An account's balance", params: accountParams, response: { 200: balance, ...errors(400, 401, 404) } },
    handler: async (request) => app.balances.read(request.params.accountId),
  });

  app.get('/v1/accounts/:accountId/ledger', {
    schema: {
      tags: ['accounts'],
      operationId: 'listLedgerEntries',
      summary: "An account's ledger, newest first",
      params: accountParams,
      querystring: z.strictObject({
        limit: pageLimit,
        cursor: ledgerCursor.optional(),
      }),
      response: { 200: z.object({ data: z.array(entry), nextCursor: z.string().nullable() }), ...errors(400, 401, 404) },
    },
    handler: async (request) => {
      const page = await app.accounts.ledger(request.params.accountId, request.query.limit, request.query.cursor);
      return { data: page.entries, nextCursor: page.nextCursor };
    },
  });
};

export default accounts;
