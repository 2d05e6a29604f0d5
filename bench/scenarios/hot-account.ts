import { randomUUID } from 'node:crypto';
import { connections, FUNDED_CREDITS, targets } from '../targets.js';
import { checkHotAccount } from './check-hot-account.js';
import { formatRate, type Scenario } from './scenario.js';
import { SpendTracker } from './spend-tracker.js';

/**
 * 64 connections spend 1 credit each on one account, against hot.pgbench; then the exact check:
 * the grant is the balance left plus every acknowledged spend, and the ledger says the same.
 */
export const hotAccountScenario: Scenario = {
  name: 'hot',
  async run(context) {
    const accountId = `bench-${context.runId}-hot`;
    await context.client.expect(201, 'PUT', `/v1/accounts/${accountId}`, {});
    await context.client.expect(201, 'POST', `/v1/accounts/${accountId}/grants`, { amount: FUNDED_CREDITS }, { 'idempotency-key': randomUUID() });

    const path = `/v1/accounts/${accountId}/spend`;
    const body = JSON.stringify({ amount: 1 });
    const tracker = new SpendTracker();
    const load = context.tallyLoad('Tally hot account', {
      connections: connections.hot,
      headers: { authorization: `Bearer ${context.serviceKey}`, 'content-type': 'application/json' },
      requests: [
        {
          method: 'POST',
          path,
          body,
          setupRequest: (request, ctx) => {
            const key = tracker.sent();
            ctx.key = key;
            return { ...request, headers: { ...request.headers, 'idempotency-key': key } };
          },
          onResponse: (status, _body, ctx) => tracker.answered(ctx.key as string, status),
        },
      ],
    });
    const [tally, baseline] = await context.compare(load, context.pgbench('hot', connections.hot));
    // Requests still in flight when the load stopped were never answered: send each again with its
    // key, so that every spend Tally applied is acknowledged (replayed) and the count is exact.
    const unanswered = tracker.unanswered();
    const replays = await tracker.replay(context.client.withKey(context.serviceKey), path, body);
    const check = await checkHotAccount(context, accountId, FUNDED_CREDITS, tracker.acknowledged);
    const exact = check.exact && tracker.status5xx === 0;

    const ratio = tally.requestsPerSecond / baseline.tps;
    return {
      raw: { connections: connections.hot, accountId, tally, baseline, statusCodesAllPhases: tracker.statusCodes, unanswered, replays, check },
      rows: [
        {
          scenario: `hot account, ${connections.hot} conn`,
          tally: formatRate(tally.requestsPerSecond, 'req/s'),
          baseline: formatRate(baseline.tps, 'tps hot.pgbench'),
          ratio,
          target: `≥ ${targets.hotVsPgbenchTps}×`,
          pass: ratio >= targets.hotVsPgbenchTps,
        },
        {
          scenario: 'hot account exact',
          tally: `${check.summary}; ${tracker.status5xx} 5xx`,
          baseline: `${unanswered} in flight at stop, re-sent`,
          target: 'exact, no 5xx',
          pass: exact,
        },
      ],
    };
  },
};
