import { randomInt, randomUUID } from 'node:crypto';
import type autocannon from 'autocannon';
import type { LoadOptions } from '../load.js';
import { connections } from '../targets.js';
import type { BenchContext } from './scenario.js';

export type FundedContext = Pick<BenchContext, 'fundedAccounts' | 'serviceKey'>;

/** The service key and a JSON body, on every request of a load. */
export const serviceHeaders = (context: FundedContext) => ({ authorization: `Bearer ${context.serviceKey}`, 'content-type': 'application/json' });

/** A POST of `body` to `/v1/accounts/{a random funded account}/{action}`, with an Idempotency-Key of its own. */
export function postToRandomAccount(context: FundedContext, action: string, body: unknown): autocannon.Request {
  const accounts = context.fundedAccounts;
  return {
    method: 'POST',
    body: JSON.stringify(body),
    setupRequest: (request) => ({
      ...request,
      path: `/v1/accounts/${accounts[randomInt(accounts.length)]}/${action}`,
      headers: { ...request.headers, 'idempotency-key': randomUUID() },
    }),
  };
}

/** 1 credit spent on a random funded account per request, each with an Idempotency-Key of its own. */
export function spendLoad(context: FundedContext): Omit<LoadOptions, 'url' | 'seconds'> {
  return { connections: connections.spend, headers: serviceHeaders(context), requests: [postToRandomAccount(context, 'spend', { amount: 1 })] };
}
