import { connections, targets } from '../targets.js';
import { formatMs, formatRate, type Scenario } from './scenario.js';
import { withSpendWrkLoad } from './spend-load.js';

/**
 * 1 credit spent on a random funded account per request, 32 connections, against spend.pgbench. The
 * load comes from wrk, a client in C like pgbench: on two shared cores, autocannon's own CPU per
 * request (about 150 µs, against pgbench's 5) was taken from Tally and PostgreSQL.
 */
export const spendScenario: Scenario = {
  name: 'spend',
  async run(context) {
    const [tally, baseline] = await withSpendWrkLoad(context, 'Tally spend (wrk)', (load) => context.compare(load, context.pgbench('spend', connections.spend)));
    const ratio = tally.requestsPerSecond / baseline.tps;
    const latencyRatio = tally.latencyMs.p99 / baseline.meanLatencyMs;
    const failures = tally.non2xx + tally.errors;
    return {
      raw: { connections: connections.spend, tally, baseline },
      rows: [
        {
          scenario: `spend, ${connections.spend} conn`,
          tally: `${formatRate(tally.requestsPerSecond, 'req/s')} (p50 ${formatMs(tally.latencyMs.p50)})`,
          baseline: formatRate(baseline.tps, 'tps spend.pgbench'),
          ratio,
          target: `≥ ${targets.spendVsPgbenchTps}×`,
          pass: ratio >= targets.spendVsPgbenchTps,
        },
        {
          scenario: 'spend p99',
          tally: formatMs(tally.latencyMs.p99),
          // pgbench's own p99 beside its mean: the share of the tail that PostgreSQL's commits alone cause.
          baseline: `${formatMs(baseline.meanLatencyMs)} pgbench mean${baseline.p99LatencyMs === undefined ? '' : ` (its p99 ${formatMs(baseline.p99LatencyMs)})`}`,
          ratio: latencyRatio,
          target: `≤ ${targets.spendP99VsPgbenchLatency}×`,
          pass: latencyRatio <= targets.spendP99VsPgbenchLatency,
        },
        {
          scenario: 'spend errors',
          tally: `${tally.non2xx} non-2xx, ${tally.errors} conn errors`,
          baseline: `${baseline.failed} failed pgbench tx`,
          target: '0',
          pass: failures === 0,
        },
      ],
    };
  },
};
