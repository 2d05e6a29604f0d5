import { connections, targets } from '../targets.js';
import { CAPTURED, HELD, holdsLoad } from './holds-load.js';
import { formatMs, formatRate, type Scenario } from './scenario.js';
import { spendLoad } from './spend-load.js';

/**
 * Pairs of a hold and its capture (holds-load.ts). Its baseline is the spend load of the spend
 * scenario, measured again here in alternating slices.
 */
export const holdsScenario: Scenario = {
  name: 'holds',
  async run(context) {
    let pairs = 0;
    const holds = context.tallyLoad('Tally hold + capture', holdsLoad(context, () => {
      if (holds.measuring) pairs++;
    }));
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
