import { randomInt } from 'node:crypto';
import type { LoadOptions } from '../load.js';
import { connections, targets } from '../targets.js';
import { formatMs, formatRate, type Scenario } from './scenario.js';
import type { FundedContext } from './spend-load.js';

/** GET the balance of a random funded account, over and over. */
export function balanceLoad(context: FundedContext): Omit<LoadOptions, 'url' | 'seconds'> {
  const accounts = context.fundedAccounts;
  return {
    connections: connections.balance,
    headers: { authorization: `Bearer ${context.serviceKey}` },
    requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: `/v1/accounts/${accounts[randomInt(accounts.length)]}/balance` }) }],
  };
}

/** GET balance of random funded accounts, against GET /healthz of the same process in the same run. */
export const balanceReadScenario: Scenario = {
  name: 'balance',
  async run(context) {
    const [tally, healthz] = await context.compare(
      context.tallyLoad('Tally balance', balanceLoad(context)),
      context.tallyLoad('Tally /healthz', { connections: connections.balance, requests: [{ method: 'GET', path: '/healthz' }] }),
    );

    const ratio = tally.requestsPerSecond / healthz.requestsPerSecond;
    const failures = tally.non2xx + tally.errors + healthz.non2xx + healthz.errors;
    return {
      raw: { connections: connections.balance, tally, healthz },
      rows: [
        {
          scenario: `balance read, ${connections.balance} conn`,
          tally: `${formatRate(tally.requestsPerSecond, 'req/s')} (p99 ${formatMs(tally.latencyMs.p99)})`,
          baseline: `${formatRate(healthz.requestsPerSecond, 'req/s /healthz')} (p99 ${formatMs(healthz.latencyMs.p99)})`,
          ratio,
          target: `≥ ${targets.balanceVsHealthz}×`,
          pass: ratio >= targets.balanceVsHealthz && failures === 0,
        },
      ],
    };
  },
};
