import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { accountId, accountParams, amount, chargeStepsDescribed, currency, errors, idempotencyKey, optionalIdempotencyHeaders, page, pageQuery, shownName, timestamp } from '../schemas.js';

const bill = z.object({
  id: z.string(),
  accountId: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  amount: z.number().int(),
  currency: z.string(),
  credits: z.number().int().nullable(),
  status: z.enum(['open', 'paid', 'expired', 'canceled']),
  url: z.string().nullable().describe('The Stripe Checkout page, while the bill is open'),
  expiresAt: timestamp.describe('When the current checkout expires'),
  checkoutSessionId: z.string(),
  paidAt: timestamp.nullable(),
  canceledAt: timestamp.nullable(),
  grantId: z.string().nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
});
const billParams = z.object({ billId: z.string().min(1).max(64) });
const expiresInSeconds = z
  .number()
  .int('must be an integer')
  .min(1800, "must be at least 1800 (Stripe's 30 minutes)")
  .max(86400, "must be at most 86400 (Stripe's 24 hours)")
  .describe('How long the checkout stays open: 1800 to 86400 seconds (Stripe keeps it a minute inside those limits)');
const redirectUrl = z.string().max(2000);

const bills: FastifyPluginAsyncZod = async (app) => {
  app.post('/v1/bills', {
    config: { keyedCreate: 'bill' },
    schema: {
      tags: ['bills'],
      operationId: 'createBill',
      summary: "Bill an account a custom amount once: a Stripe Checkout for the account's customer",
      headers: optionalIdempotencyHeaders,
      body: z.strictObject({
        accountId,
        // The pattern says in the OpenAPI document what the trim does: blank is too short.
        name: shownName(200).describe('What the customer sees on the checkout page'),
        description: shownName(1000).optional(),
        amount: z.number({ error: 'must be a number' }).int('must be an integer (minor units)').positive('must be positive').describe(`In the currency's minor units; at least Stripe's minimum charge; ${chargeStepsDescribed}`),
        currency,
        credits: amount.optional().describe('Granted once when the bill is paid; none when absent'),
        expiresInSeconds: expiresInSeconds.optional().describe('Default 86400'),
        successUrl: redirectUrl.optional(),
        cancelUrl: redirectUrl.optional(),
      }),
      response: { 201: bill, ...errors(400, 401, 404, 409, 502, 503) },
    },
    handler: async (request, reply) => {
      const key = idempotencyKey(request);
      // A replay answers as the first answer did, status included (keyed-creates.ts marks it replayed).
      return reply.status(201).send(await app.bills.create(request.body, key));
    },
  });

  app.get('/v1/bills/:billId', {
    schema: { tags: ['bills'], operationId: 'getBill', summary: 'A bill', params: billParams, response: { 200: bill, ...errors(401, 404) } },
    handler: async (request) => app.bills.get(request.params.billId),
  });

  app.get('/v1/accounts/:accountId/bills', {
    schema: {
      tags: ['bills'],
      operationId: 'listBills',
      summary: "An account's bills, newest first",
      params: accountParams,
      querystring: pageQuery(billParams.shape.billId),
      response: { 200: page(bill), ...errors(400, 401, 404) },
    },
    handler: async (request) => app.bills.listForAccount(request.params.accountId, request.query.limit, request.query.cursor),
  });

  app.post('/v1/bills/:billId/cancel', {
    schema: {
      tags: ['bills'],
      operationId: 'cancelBill',
      summary: "Cancel an unpaid bill: its checkout is expired at Stripe (409 bill_paid if it was paid)",
      description: '409 `bill_paid`: the bill was paid. 409 `bill_payment_pending`: its checkout was paid by an asynchronous method (a bank debit) whose money is still on its way; once that payment fails the bill is `expired` and can be canceled.',
      params: billParams,
      response: { 200: bill, ...errors(401, 404, 409, 502, 503) },
    },
    handler: async (request) => app.bills.cancel(request.params.billId),
  });

  app.post('/v1/bills/:billId/checkout', {
    schema: {
      tags: ['bills'],
      operationId: 'createBillCheckout',
      summary: 'A fresh checkout for a bill whose checkout expired unpaid',
      description: 'For a bill whose checkout expired, or whose asynchronous payment (a bank debit) failed. 409 `bill_paid`: the bill was paid. 409 `bill_payment_pending`: its payment is still on its way. 409 `bill_checkout_open`: its checkout can still be paid. 409 `bill_canceled`.',
      params: billParams,
      body: z.strictObject({ expiresInSeconds: expiresInSeconds.optional().describe("Default: the bill's own") }).nullish().describe("No body (or {}) keeps the bill's expiresInSeconds"),
      response: { 200: bill, ...errors(400, 401, 404, 409, 502, 503) },
    },
    handler: async (request) => app.bills.reopen(request.params.billId, request.body?.expiresInSeconds),
  });
};

export default bills;
