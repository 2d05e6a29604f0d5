import { randomInt, randomUUID } from 'node:crypto';
import { connections, targets } from '../targets.js';
import { formatMs, formatRate, type Scenario } from './scenario.js';
import { spendLoad } from './spend-load.js';

const HELD = 2;
const CAPTURED = 1;

/**
 * Each connection reserves credits on a random funded account, then captures part of them, over and
 * over: a pair is a hold (201) followed by its capture (200). Its baseline is the spend load of the
 * spend scenario, measured again here in alternating slices.
 */
export const holdsScenario: Scenario = {
  name: 'holds',
  async run(context) {
    const accounts = context.fundedAccounts;
    let pairs = 0;
    const holds = context.tallyLoad('Tally hold + capture', {
      connections: connections.holds,
      headers: { authorization: `Bearer ${context.serviceKey}`, 'content-type': 'application/json' },
      requests: [
        {
          method: 'POST',
          body: JSON.stringify({ amount: HELD }),
          setupRequest: (request) => ({
            ...request,
            path: `/v1/accounts/${accounts[randomInt(accounts.length)]}/holds`,
            headers: { ...request.headers, 'idempotency-key': randomUUID() },
          }),
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
            if (status === 200 && holds.measuring) pairs++;
          },
        },
      ],
    });
    const [tally, spend] = await context.compare(holds, context.tallyLoad('Tally spend', spendLoad(context)));

    const pairsPerSecond = pairs / tally.durationSeconds;
    const ratio = pairsPerSecond / spend.requestsPerSecond;
    const failures = tally.non2xx + tally.errors;
    return {
      raw: { connections: connections.holds, held: HELD, captured: CAPTURED, pairs, pairsPerSecond, tally, spend },
      rows: [
        {
          scenario: `holds, ${connections.holds} conn`,
          // Per request: a hold or a capture against a spend (0.5× in pairs is 1× here).
          tally: `${formatRate(pairsPerSecond, 'pairs/s')} (${(tally.requestsPerSecond / spend.requestsPerSecond).toFixed(2)}× spend per request; p99 ${formatMs(tally.latencyMs.p99)}, ${failures} errors)`,
          baseline: formatRate(spend.requestsPerSecond, 'req/s spend'),
          ratio,
          target: `≥ ${targets.holdsVsSpend}×`,
          pass: ratio >= targets.holdsVsSpend && failures === 0,
        },
      ],
    };
  },
};
