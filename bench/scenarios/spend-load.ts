import { randomInt, randomUUID } from 'node:crypto';
import type { LoadOptions } from '../load.js';
import { connections } from '../targets.js';
import type { BenchContext } from './scenario.js';

/** 1 credit spent on a random funded account per request, each with an Idempotency-Key of its own. */
export function spendLoad(context: BenchContext): Omit<LoadOptions, 'url' | 'seconds'> {
  const accounts = context.fundedAccounts;
  return {
    connections: connections.spend,
    headers: { authorization: `Bearer ${context.serviceKey}`, 'content-type': 'application/json' },
    requests: [
      {
        method: 'POST',
        body: JSON.stringify({ amount: 1 }),
        setupRequest: (request) => ({
          ...request,
          path: `/v1/accounts/${accounts[randomInt(accounts.length)]}/spend`,
          headers: { ...request.headers, 'idempotency-key': randomUUID() },
        }),
      },
    ],
  };
}
