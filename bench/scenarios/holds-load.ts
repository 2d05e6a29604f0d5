import { randomUUID } from 'node:crypto';
import type { LoadOptions } from '../load.js';
import { connections } from '../targets.js';
import { postToRandomAccount, serviceHeaders, type FundedContext } from './spend-load.js';

export const HELD = 2;
export const CAPTURED = 1;

/**
 * Each connection reserves credits on a random funded account, then captures part of them, over and
 * over: a pair is a hold (201) followed by its capture (200), and `onPair` hears of each.
 */
export function holdsLoad(context: FundedContext, onPair: () => void = () => {}): Omit<LoadOptions, 'url' | 'seconds'> {
  return {
    connections: connections.holds,
    headers: serviceHeaders(context),
    requests: [
      {
        ...postToRandomAccount(context, 'holds', { amount: HELD }),
        onResponse: (status, body, ctx) => {
          if (status === 201) ctx.holdId = /"id":"([^"]+)"/.exec(body)?.[1];
        },
      },
      {
        method: 'POST',
        body: JSON.stringify({ amount: CAPTURED }),
        // No hold to capture (the hold failed or timed out): start the pair again.
        setupRequest: (request, ctx) =>
          typeof ctx.holdId === 'string' && { ...request, path: `/v1/holds/${ctx.holdId}/capture`, headers: { ...request.headers, 'idempotency-key': randomUUID() } },
        onResponse: (status) => {
          if (status === 200) onPair();
        },
      },
    ],
  };
}
